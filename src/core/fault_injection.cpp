// Armed only through loom/fault_injection.hpp; one relaxed atomic load per allocation or write otherwise.
#include "core/fault_hooks.hpp"

#include <atomic>
#include <mutex>

#include "loom/error.hpp"
#include "loom/testing/fault_injection.hpp"

namespace loom {
namespace {

struct AllocationFault {
  std::atomic<bool> armed{false};
  std::atomic<int64_t> remaining{-1};
  std::mutex mutex;
  Device device;
};
AllocationFault& allocation_fault() {
  static AllocationFault fault;
  return fault;
}

std::atomic<int64_t> write_budget{-1};

}  // namespace

namespace detail {

void check_injected_allocation_failure(Device device, size_t nbytes, const char* op) {
  AllocationFault& f = allocation_fault();
  if (!f.armed.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard<std::mutex> lock(f.mutex);
    if (f.device != device) return;
  }
  if (f.remaining.fetch_sub(1) != 0) return;
  f.armed = false;
  throw OutOfMemoryError(std::string("[") + op + "] out of memory on " + device.str() + ": requested " +
                         std::to_string(nbytes) + " bytes (injected failure)");
}

size_t injected_write_allowance(size_t wanted) {
  const int64_t budget = write_budget.load(std::memory_order_relaxed);
  if (budget < 0) return wanted;
  const size_t allowed = std::min(wanted, static_cast<size_t>(budget));
  write_budget.fetch_sub(static_cast<int64_t>(allowed));
  return allowed;
}

}  // namespace detail

namespace fault_injection {

int64_t fail_allocation_after(std::string_view device, int64_t count) {
  const Device d = Device::parse(device);
  AllocationFault& f = allocation_fault();
  std::lock_guard<std::mutex> lock(f.mutex);
  const int64_t left = f.armed ? f.remaining.load() : -1;
  f.device = d;
  f.remaining = count;
  f.armed = count >= 0;
  return left;
}

void fail_writes_after(int64_t bytes) { write_budget = bytes; }

}  // namespace fault_injection
}  // namespace loom
