#pragma once
// A device-independent caching allocator for backends (C++ only): freed blocks are kept by
// rounded size and reused; an optional hard limit turns requests beyond it into out-of-memory
// errors naming the request; without memory growth the limit (or 90% of the free memory) is
// reserved at first use and blocks are carved from it. The backend supplies the raw memory.
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "loom/backend.hpp"
#include "loom/export.hpp"

namespace loom {

class LOOM_API RawMemory {
 public:
  virtual ~RawMemory();
  virtual void* allocate(size_t bytes) = 0;  // nullptr when the device has no room
  virtual void release(void* ptr) = 0;
  virtual size_t free_bytes() = 0;
  // Waits until no queued work uses memory about to be released.
  virtual void synchronize() = 0;
};

class LOOM_API CachingAllocator final : public Allocator {
 public:
  CachingAllocator(std::string device_name, std::unique_ptr<RawMemory> raw);
  ~CachingAllocator() override;
  void* allocate(size_t nbytes, const char* op) override;
  void deallocate(void* ptr, size_t nbytes) noexcept override;
  MemoryStats stats() const override;
  void reset_peak() override;
  void set_limit(int64_t bytes) override;
  void set_growth(bool enabled) override;
  void empty_cache() override;
  // Block sizes: 512-byte steps below 1 MiB, 1 MiB steps above.
  static size_t rounded(size_t nbytes);

 private:
  [[noreturn]] void fail(size_t nbytes, const char* op, const char* bound);
  void release_cache();
  void* carve(size_t size, const char* op, size_t nbytes);

  std::string device_;
  std::unique_ptr<RawMemory> raw_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> cache_;
  int64_t live_ = 0, peak_ = 0, cached_ = 0, limit_ = 0;
  bool growth_ = true;
  void* reserve_ = nullptr;
  size_t reserve_size_ = 0, used_ = 0;
};

}  // namespace loom
