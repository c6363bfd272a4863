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

#include "loom/backend/backend.hpp"
#include "loom/backend/api.hpp"

namespace loom {

/// The raw device memory a backend supplies to a CachingAllocator.
class LOOM_BACKEND_API RawMemory {
 public:
  virtual ~RawMemory();
  /// A new block of `bytes`, or nullptr when the device has no room (must not throw for that).
  virtual void* allocate(size_t bytes) = 0;
  /// Frees a block from allocate().
  virtual void release(void* ptr) = 0;
  /// Free memory on the device, in bytes.
  virtual size_t free_bytes() = 0;
  /// Waits until no queued work uses memory about to be released.
  virtual void synchronize() = 0;
};

/// An Allocator that caches freed blocks by rounded size over a backend's RawMemory
/// (thread-safe; C++ only, for backend authors).
class LOOM_BACKEND_API CachingAllocator final : public Allocator {
 public:
  /// An allocator for the device named `device_name` (used in error messages) over `raw`.
  CachingAllocator(std::string device_name, std::unique_ptr<RawMemory> raw);
  /// Keeps the device memory (it goes back with the process).
  ~CachingAllocator() override;
  /// A cached block of the rounded size, else fresh memory (after releasing the cache once
  /// if the device is full), else a carve from the reservation without memory growth.
  /// OutOfMemoryError naming `op` beyond the limit or the device's memory.
  void* allocate(size_t nbytes, const char* op) override;
  /// Returns the block to the cache.
  void deallocate(void* ptr, size_t nbytes) noexcept override;
  /// Live, peak, cached and limit bytes (of rounded block sizes).
  MemoryStats stats() const override;
  /// Sets the peak to the current live bytes.
  void reset_peak() override;
  /// Sets the limit (0: none); DeviceError once memory has been reserved.
  void set_limit(int64_t bytes) override;
  /// Sets memory growth; DeviceError once the device is in use.
  void set_growth(bool enabled) override;
  /// Releases cached blocks to the RawMemory (not blocks carved from a reservation).
  void empty_cache() override;
  /// The block size used for a request: 512-byte steps below 1 MiB, 1 MiB steps above.
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
