#include "loom/device.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <string>
#include <vector>

#include "core/op_device_scope.hpp"
#include "loom/backend/backend.hpp"
#include "loom/error.hpp"

namespace loom {
namespace {

thread_local std::vector<Device> scope_stack;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void bad_name(std::string_view name) {
  throw DeviceError("[device] cannot parse device name '" + std::string(name) +
                    "' (expected \"CPU:0\", \"GPU:0\", ...)");
}

}  // namespace

Device Device::parse(std::string_view name) {
  std::string s = upper(name);
  for (const char* prefix : {"/PHYSICAL_DEVICE:", "/DEVICE:", "/JOB:LOCALHOST/REPLICA:0/TASK:0/DEVICE:"}) {
    const std::string p(prefix);
    if (s.rfind(p, 0) == 0) s = s.substr(p.size());
  }
  DeviceType type;
  std::string rest;
  if (s.rfind("CPU", 0) == 0) {
    type = DeviceType::CPU;
    rest = s.substr(3);
  } else if (s.rfind("GPU", 0) == 0 || s.rfind("CUDA", 0) == 0) {
    type = DeviceType::GPU;
    rest = s.substr(s[0] == 'G' ? 3 : 4);
  } else {
    bad_name(name);
  }
  int32_t index = 0;
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) bad_name(name);
    for (size_t i = 1; i < rest.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(rest[i]))) bad_name(name);
    }
    index = std::stoi(rest.substr(1));
  }
  return Device(type, index);
}

std::string Device::str() const {
  return std::string(type == DeviceType::CPU ? "CPU:" : "GPU:") + std::to_string(index);
}

namespace detail {
OpDeviceScope::OpDeviceScope(Device device) {
  if (!scope_stack.empty() && scope_stack.back() != device) {
    scope_stack.push_back(device);
    pushed_ = true;
  }
}
OpDeviceScope::~OpDeviceScope() {
  if (pushed_) scope_stack.pop_back();
}
}  // namespace detail

DeviceScope::DeviceScope(std::string_view device) : DeviceScope(Device::parse(device)) {}

DeviceScope::DeviceScope(Device device) {
  backend_for(device, "DeviceScope");  // a device that does not exist is an error now, not later
  scope_stack.push_back(device);
}

DeviceScope::~DeviceScope() { scope_stack.pop_back(); }

bool current_device_scope(Device* out) {
  if (scope_stack.empty()) return false;
  *out = scope_stack.back();
  return true;
}

std::vector<PhysicalDevice> list_physical_devices(std::string_view device_type) {
  load_optional_backends();
  const std::string kind = upper(device_type);
  if (!kind.empty() && kind != "CPU" && kind != "GPU") {
    throw InvalidArgument("[list_physical_devices] unknown device type '" +
                          std::string(device_type) + "' (expected \"CPU\", \"GPU\" or \"\")");
  }
  std::vector<PhysicalDevice> out;
  for (DeviceType t : {DeviceType::CPU, DeviceType::GPU}) {
    if (!kind.empty() && kind != (t == DeviceType::CPU ? "CPU" : "GPU")) continue;
    Backend* backend = nullptr;
    try {
      backend = &backend_for(Device(t, 0), "list_physical_devices");
    } catch (const DeviceError&) {
      continue;  // no backend (or no device) of this kind
    }
    for (int i = 0; i < backend->device_count(); ++i) out.push_back(backend->describe(i));
  }
  return out;
}

MemoryStats memory_stats(std::string_view device) {
  const Device d = Device::parse(device);
  return backend_for(d, "memory_stats").allocator(d.index).stats();
}

void reset_peak_memory(std::string_view device) {
  const Device d = Device::parse(device);
  backend_for(d, "reset_peak_memory").allocator(d.index).reset_peak();
}

void empty_cache(std::string_view device) {
  const Device d = Device::parse(device);
  backend_for(d, "empty_cache").allocator(d.index).empty_cache();
}

void set_memory_limit(std::string_view device, int64_t bytes) {
  if (bytes < 0) {
    throw InvalidArgument("[set_memory_limit] limit must be >= 0 bytes, got " +
                          std::to_string(bytes));
  }
  const Device d = Device::parse(device);
  backend_for(d, "set_memory_limit").allocator(d.index).set_limit(bytes);
}

void set_memory_growth(std::string_view device, bool enabled) {
  const Device d = Device::parse(device);
  backend_for(d, "set_memory_growth").allocator(d.index).set_growth(enabled);
}

void synchronize(std::string_view device) {
  const Device d = Device::parse(device);
  backend_for(d, "synchronize").synchronize(d.index);
}

namespace {
std::atomic<bool> tf32_allowed{false};
std::atomic<bool> cudnn_allowed{true};
}  // namespace

void set_float32_matmul_precision(std::string_view precision) {
  if (precision != "highest" && precision != "high") {
    throw InvalidArgument("[set_float32_matmul_precision] precision must be \"highest\" or \"high\", got '" +
                          std::string(precision) + "'");
  }
  tf32_allowed = precision == "high";
}

std::string float32_matmul_precision() { return tf32_allowed ? "high" : "highest"; }

void set_cudnn_enabled(bool enabled) { cudnn_allowed = enabled; }
bool cudnn_enabled() { return cudnn_allowed; }

}  // namespace loom
