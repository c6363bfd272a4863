#include "loom/backend/caching_allocator.hpp"

#include <algorithm>

#include "loom/error.hpp"

namespace loom {

RawMemory::~RawMemory() = default;

CachingAllocator::CachingAllocator(std::string device_name, std::unique_ptr<RawMemory> raw)
    : device_(std::move(device_name)), raw_(std::move(raw)) {}

CachingAllocator::~CachingAllocator() = default;  // device memory goes back with the process

size_t CachingAllocator::rounded(size_t n) {
  const size_t unit = n < (size_t{1} << 20) ? 512 : (size_t{1} << 20);
  return std::max<size_t>((n + unit - 1) / unit * unit, unit);
}

void CachingAllocator::fail(size_t nbytes, const char* op, const char* bound) {
  throw OutOfMemoryError(std::string("[") + op + "] out of memory on " + device_ + ": requested " + std::to_string(nbytes) +
                         " bytes with " + std::to_string(live_) + " bytes live, exceeding " + bound +
                         (limit_ > 0 ? " (" + std::to_string(limit_) + " bytes)" : std::string()));
}

void* CachingAllocator::allocate(size_t nbytes, const char* op) {
  const size_t size = rounded(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  if (limit_ > 0 && live_ + static_cast<int64_t>(size) > limit_) fail(nbytes, op, "the memory limit");
  void* p = nullptr;
  auto it = cache_.find(size);
  if (it != cache_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cached_ -= static_cast<int64_t>(size);
  } else if (!growth_) {
    p = carve(size, op, nbytes);
  } else {
    p = raw_->allocate(size);
    if (!p) {
      release_cache();  // give cached blocks back and try once more
      p = raw_->allocate(size);
    }
    if (!p) fail(nbytes, op, "the device's free memory");
  }
  live_ += static_cast<int64_t>(size);
  peak_ = std::max(peak_, live_);
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) noexcept {
  if (!ptr) return;
  const size_t size = rounded(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  cache_[size].push_back(ptr);
  live_ -= static_cast<int64_t>(size);
  cached_ += static_cast<int64_t>(size);
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return MemoryStats{live_, peak_, cached_, limit_};
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_ = live_;
}

void CachingAllocator::set_limit(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reserve_) throw DeviceError("[set_memory_limit] " + device_ + " has reserved its memory already; set limits before first use");
  limit_ = bytes;
}

void CachingAllocator::set_growth(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reserve_ || live_ > 0) throw DeviceError("[set_memory_growth] " + device_ + " is in use; set memory growth before first use");
  growth_ = enabled;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cache();
}

void CachingAllocator::release_cache() {
  if (reserve_) return;  // carved blocks belong to the reservation
  raw_->synchronize();
  for (auto& [size, blocks] : cache_) {
    for (void* p : blocks) raw_->release(p);
  }
  cache_.clear();
  cached_ = 0;
}

void* CachingAllocator::carve(size_t size, const char* op, size_t nbytes) {
  if (!reserve_) {
    reserve_size_ = limit_ > 0 ? static_cast<size_t>(limit_) : raw_->free_bytes() / 10 * 9;
    reserve_ = raw_->allocate(reserve_size_);
    if (!reserve_) fail(reserve_size_, op, "the device's free memory (reserving without memory growth)");
  }
  if (used_ + size > reserve_size_) fail(nbytes, op, "the reserved memory");
  void* p = static_cast<char*>(reserve_) + used_;
  used_ += size;
  return p;
}

}  // namespace loom
