#include "cpu/cpu_backend.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "loom/error.hpp"

namespace loom::detail {
namespace {

// 64-byte aligned host memory with live/peak accounting and an optional hard limit.
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, const char* op) override {
    const int64_t limit = limit_.load(std::memory_order_relaxed);
    const int64_t live = live_.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
    if (limit > 0 && live > limit) {
      live_.fetch_sub(static_cast<int64_t>(nbytes));
      throw OutOfMemoryError(std::string("[") + op + "] out of memory on CPU:0: requested " +
                             std::to_string(nbytes) + " bytes with " +
                             std::to_string(live - static_cast<int64_t>(nbytes)) +
                             " bytes live and a limit of " + std::to_string(limit) + " bytes");
    }
    const size_t rounded = (nbytes + 63) / 64 * 64;
    void* p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (rounded && !p) {
      live_.fetch_sub(static_cast<int64_t>(nbytes));
      throw OutOfMemoryError(std::string("[") + op + "] out of memory on CPU:0: the system " +
                             "refused " + std::to_string(nbytes) + " bytes");
    }
    int64_t peak = peak_.load(std::memory_order_relaxed);
    while (live > peak && !peak_.compare_exchange_weak(peak, live)) {
    }
    return p;
  }
  void deallocate(void* ptr, size_t nbytes) noexcept override {
    std::free(ptr);
    live_.fetch_sub(static_cast<int64_t>(nbytes));
  }
  MemoryStats stats() const override {
    MemoryStats s;
    s.live_bytes = live_.load();
    s.peak_bytes = peak_.load();
    s.limit_bytes = limit_.load();
    return s;
  }
  void reset_peak() override { peak_.store(live_.load()); }
  void set_limit(int64_t bytes) override { limit_.store(bytes); }

 private:
  std::atomic<int64_t> live_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> limit_{0};
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
