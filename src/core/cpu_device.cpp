#include "core/cpu_device.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loom/error.hpp"

namespace loom::detail {
namespace {

// 64-byte aligned host memory with live/peak accounting, an optional hard limit and a cache of
// large blocks: a fresh large allocation costs a page fault per 4 KiB on first touch, which
// made a 16M-element add 3x slower than memcpy. Freed blocks of at least kCacheFrom bytes are
// kept (up to kCacheLimit bytes) and reused for requests of the same rounded size. From 16 KiB:
// glibc maps blocks over 128 KiB afresh on every allocation, and an Adam update of a 400x120
// kernel (192 KiB temporaries) spent most of its time in page faults.
class CpuAllocator final : public Allocator {
 public:
  static constexpr size_t kCacheFrom = size_t{1} << 14;   // 16 KiB
  static constexpr size_t kCacheTo = size_t{1} << 27;     // 128 MiB: bigger blocks (one-off
                                                          // conversions of whole datasets) go back
  static constexpr size_t kCacheLimit = size_t{1} << 30;  // 1 GiB kept at most
  static constexpr size_t kSmallMax = 4096;  // per-thread free lists up to this size

  ~CpuAllocator() override { empty_cache(); }

  void* allocate(size_t nbytes, const char* op) override {
    const int64_t limit = limit_.load(std::memory_order_relaxed);
    const auto n = static_cast<int64_t>(nbytes);
    const int64_t live = live_.fetch_add(n) + n;
    if (limit > 0 && live > limit) {
      live_.fetch_sub(n);
      throw OutOfMemoryError(std::string("[") + op + "] out of memory on CPU:0: requested " +
                             std::to_string(nbytes) + " bytes with " + std::to_string(live - n) +
                             " bytes live and a limit of " + std::to_string(limit) + " bytes");
    }
    void* p = nullptr;
    if (nbytes) {
      SmallCache* small = rounded(nbytes) <= kSmallMax ? small_cache() : nullptr;
      p = small ? small->take(rounded(nbytes)) : take_cached(rounded(nbytes));
    }
    if (nbytes && !p) p = system_alloc(rounded(nbytes));
    if (nbytes && !p) {
      live_.fetch_sub(n);
      throw OutOfMemoryError(std::string("[") + op + "] out of memory on CPU:0: the system refused " +
                             std::to_string(nbytes) + " bytes");
    }
    int64_t peak = peak_.load(std::memory_order_relaxed);
    while (live > peak && !peak_.compare_exchange_weak(peak, live)) {
    }
    return p;
  }
  void deallocate(void* ptr, size_t nbytes) noexcept override {
    live_.fetch_sub(static_cast<int64_t>(nbytes));
    if (!ptr) return;
    const size_t size = rounded(nbytes);
    if (size <= kSmallMax) {
      if (SmallCache* small = small_cache()) {
        small->give(size, ptr);
        return;
      }
    }
    if (size >= kCacheFrom && size <= kCacheTo) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + size <= kCacheLimit) {
        cache_.emplace(size, ptr);
        cached_ += size;
        return;
      }
    }
    std::free(ptr);
  }
  MemoryStats stats() const override {
    MemoryStats s;
    s.live_bytes = live_.load();
    s.peak_bytes = peak_.load();
    s.limit_bytes = limit_.load();
    std::lock_guard<std::mutex> lock(mutex_);
    s.cached_bytes = static_cast<int64_t>(cached_);
    return s;
  }
  void reset_peak() override { peak_.store(live_.load()); }
  void set_limit(int64_t bytes) override { limit_.store(bytes); }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, p] : cache_) std::free(p);
    cache_.clear();
    cached_ = 0;
  }

 private:
  // Small blocks round to 64 bytes; cached sizes to an eighth of their power of two (at least
  // 4 KiB: at most 12.5% more), so that similar sizes share blocks.
  static size_t rounded(size_t n) {
    const size_t unit = n >= kCacheFrom ? std::max<size_t>(std::bit_floor(n) / 8, size_t{1} << 12) : 64;
    return (n + unit - 1) / unit * unit;
  }
  void* take_cached(size_t size) {
    if (size < kCacheFrom) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(size);
    if (it == cache_.end()) return nullptr;
    void* p = it->second;
    cache_.erase(it);
    cached_ -= size;
    return p;
  }
  // Small blocks (scalars, biases, the tensors of a tape step) come from per-thread free lists
  // by power-of-two size class: no lock and no malloc on the hot path of small ops.
  class SmallCache {
   public:
    static constexpr int kClasses = 7;        // 64 B ... 4 KiB
    static constexpr size_t kPerClass = 256;  // blocks kept per class and thread
    ~SmallCache() {
      gone() = true;  // tensors freed later in this thread's exit go straight to free()
      for (auto& list : lists_) {
        for (void* p : list) std::free(p);
      }
    }
    static bool& gone() {
      thread_local bool flag = false;
      return flag;
    }
    void* take(size_t size) {
      auto& list = lists_[class_of(size)];
      if (list.empty()) return std::aligned_alloc(64, class_size(class_of(size)));
      void* p = list.back();
      list.pop_back();
      return p;
    }
    void give(size_t size, void* p) {
      auto& list = lists_[class_of(size)];
      if (list.size() >= kPerClass) {
        std::free(p);
      } else {
        list.push_back(p);
      }
    }

   private:
    static int class_of(size_t size) {
      int c = 0;
      while (class_size(c) < size) ++c;
      return c;
    }
    static size_t class_size(int c) { return size_t{64} << c; }
    std::vector<void*> lists_[kClasses];
  };
  static SmallCache* small_cache() {
    if (SmallCache::gone()) return nullptr;
    thread_local SmallCache cache;
    return &cache;
  }

  void* system_alloc(size_t size) {
    void* p = std::aligned_alloc(64, size);
    if (!p) {  // give the cache back to the system and try once more
      empty_cache();
      p = std::aligned_alloc(64, size);
    }
    return p;
  }

  std::atomic<int64_t> live_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> limit_{0};
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> cache_;
  size_t cached_ = 0;
};

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "CPU";
}

class CpuBackend final : public Backend {
 public:
  DeviceType type() const override { return DeviceType::CPU; }
  int device_count() const override { return 1; }
  PhysicalDevice describe(int) const override {
    PhysicalDevice d;
    d.name = "CPU:0";
    d.device_type = "CPU";
    d.description = cpu_model_name() + ", " + std::to_string(std::thread::hardware_concurrency()) +
                    " hardware threads";
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long avail = sysconf(_SC_AVPHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    d.total_memory = static_cast<int64_t>(pages) * page;
    d.free_memory = static_cast<int64_t>(avail) * page;
    return d;
  }
  Allocator& allocator(int) override { return allocator_; }
  void copy_from_host(void* dst, const void* src, size_t n, int) override { copy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n, int) override { copy(dst, src, n); }
  void copy_on_device(void* dst, const void* src, size_t n, int) override { copy(dst, src, n); }
  void synchronize(int) override {}

 private:
  static void copy(void* dst, const void* src, size_t n) {
    if (n) std::memcpy(dst, src, n);
  }
  CpuAllocator allocator_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace loom::detail
