// Library entry points (version, init, threads, seed) and devices.
#include <cstring>
#include <vector>

#include "errors.hpp"
#include "handles.hpp"
#include "loom/creation.hpp"
#include "loom/device.hpp"
#include "loom/nn/policy.hpp"
#include "loom/threads.hpp"
#include "loom/version.hpp"

using namespace loom::capi;

namespace {

// The per-thread stack behind loom_device_scope_push/pop.
std::vector<std::unique_ptr<loom::DeviceScope>>& scope_stack() {
  thread_local std::vector<std::unique_ptr<loom::DeviceScope>> stack;
  return stack;
}

template <size_t N>
void copy_truncated(char (&field)[N], const std::string& text) {
  const size_t n = std::min(N - 1, text.size());
  std::memcpy(field, text.data(), n);
  field[n] = '\0';
}

void fill_info(const loom::PhysicalDevice& d, loom_device_info& info) {
  require(info.struct_size >= sizeof(loom_device_info),
          "info->struct_size is " + std::to_string(info.struct_size) + ", expected sizeof(loom_device_info) = " +
              std::to_string(sizeof(loom_device_info)));
  copy_truncated(info.name, d.name);
  copy_truncated(info.device_type, d.device_type);
  copy_truncated(info.description, d.description);
  info.total_memory = d.total_memory;
  info.free_memory = d.free_memory;
  info.memory_limit = loom::memory_stats(d.name).limit_bytes;
  info.compute_capability_major = d.compute_capability_major;
  info.compute_capability_minor = d.compute_capability_minor;
}

}  // namespace

extern "C" {

LOOM_CAPI int32_t loom_abi_version(void) { return LOOM_ABI_VERSION; }

LOOM_CAPI const char* loom_version_string(void) { return loom::version_string(); }

LOOM_CAPI loom_status loom_init(int32_t abi_version) {
  return guarded("loom_init", [&] {
    if (abi_version > LOOM_ABI_VERSION || abi_version < 1) {
      throw Failure(LOOM_ERROR_ABI_MISMATCH, "the application was built against loom ABI version " +
                                                 std::to_string(abi_version) + ", this library provides version " +
                                                 std::to_string(LOOM_ABI_VERSION) + " (" + loom::version_string() + ")");
    }
  });
}

LOOM_CAPI loom_status loom_set_num_threads(int32_t n) {
  return guarded("loom_set_num_threads", [&] { loom::set_num_threads(n); });
}

LOOM_CAPI int32_t loom_get_num_threads(void) { return loom::get_num_threads(); }

LOOM_CAPI loom_status loom_set_seed(uint64_t seed) {
  return guarded("loom_set_seed", [&] { loom::set_seed(seed); });
}

LOOM_CAPI loom_status loom_set_global_policy(const char* policy) {
  return guarded("loom_set_global_policy", [&] { loom::nn::set_global_policy(string_arg(policy, "policy")); });
}

LOOM_CAPI loom_status loom_global_policy(char* buffer, size_t capacity) {
  return guarded("loom_global_policy", [&] { copy_out(loom::nn::global_policy().name(), buffer, capacity); });
}

LOOM_CAPI loom_status loom_device_count(const char* device_type, int32_t* out) {
  return guarded("loom_device_count", [&] {
    int32_t& count = value_out(out, "out");
    count = static_cast<int32_t>(loom::list_physical_devices(device_type ? device_type : "").size());
  });
}

LOOM_CAPI loom_status loom_device_info_get(const char* device_type, int32_t index, loom_device_info* info) {
  return guarded("loom_device_info_get", [&] {
    loom_device_info& out = value_out(info, "info");
    const auto devices = loom::list_physical_devices(device_type ? device_type : "");
    require(index >= 0 && static_cast<size_t>(index) < devices.size(),
            "index " + std::to_string(index) + " is out of range: " + std::to_string(devices.size()) + " device(s) of type '" +
                (device_type ? device_type : "") + "'");
    fill_info(devices[static_cast<size_t>(index)], out);
  });
}

LOOM_CAPI loom_status loom_device_find(const char* name, loom_device_info* info) {
  return guarded("loom_device_find", [&] {
    loom_device_info& out = value_out(info, "info");
    const loom::Device wanted = loom::Device::parse(string_arg(name, "name"));
    for (const auto& d : loom::list_physical_devices()) {
      if (loom::Device::parse(d.name) == wanted) return fill_info(d, out);
    }
    throw loom::DeviceError("no device '" + std::string(name) + "' on this machine");
  });
}

LOOM_CAPI loom_status loom_device_scope_push(const char* device) {
  return guarded("loom_device_scope_push", [&] {
    scope_stack().push_back(std::make_unique<loom::DeviceScope>(string_arg(device, "device")));
  });
}

LOOM_CAPI loom_status loom_device_scope_pop(void) {
  return guarded("loom_device_scope_pop", [&] {
    auto& stack = scope_stack();
    require(!stack.empty(), "no device scope to pop on this thread");
    stack.pop_back();
  });
}

LOOM_CAPI loom_status loom_device_set_memory_limit(const char* device, int64_t bytes) {
  return guarded("loom_device_set_memory_limit", [&] { loom::set_memory_limit(string_arg(device, "device"), bytes); });
}

LOOM_CAPI loom_status loom_device_set_memory_growth(const char* device, int32_t enabled) {
  return guarded("loom_device_set_memory_growth",
                 [&] { loom::set_memory_growth(string_arg(device, "device"), enabled != 0); });
}

LOOM_CAPI loom_status loom_device_synchronize(const char* device) {
  return guarded("loom_device_synchronize", [&] { loom::synchronize(string_arg(device, "device")); });
}

LOOM_CAPI loom_status loom_device_memory_stats(const char* device, int64_t* live_bytes, int64_t* peak_bytes,
                                               int64_t* cached_bytes) {
  return guarded("loom_device_memory_stats", [&] {
    const loom::MemoryStats stats = loom::memory_stats(string_arg(device, "device"));
    if (live_bytes) *live_bytes = stats.live_bytes;
    if (peak_bytes) *peak_bytes = stats.peak_bytes;
    if (cached_bytes) *cached_bytes = stats.cached_bytes;
  });
}

LOOM_CAPI loom_status loom_set_float32_matmul_precision(const char* precision) {
  return guarded("loom_set_float32_matmul_precision",
                 [&] { loom::set_float32_matmul_precision(string_arg(precision, "precision")); });
}

LOOM_CAPI loom_status loom_set_cudnn_enabled(int32_t enabled) {
  return guarded("loom_set_cudnn_enabled", [&] { loom::set_cudnn_enabled(enabled != 0); });
}

}  // extern "C"
