#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loom/export.hpp"

namespace loom {

enum class DeviceType : int32_t { CPU = 0, GPU = 1 };

// A device an op runs on: "CPU:0", "GPU:0", "GPU:1", ...
struct LOOM_API Device {
  DeviceType type = DeviceType::CPU;
  int32_t index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int32_t i) : type(t), index(i) {}
  // Accepts "CPU", "CPU:0", "GPU:1", "/device:GPU:0", "/physical_device:GPU:0" (case-insensitive
  // kind). Throws DeviceError naming the text on anything else.
  static Device parse(std::string_view name);
  static constexpr Device cpu() { return Device(); }
  std::string str() const;
  bool is_cpu() const { return type == DeviceType::CPU; }
  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

// What tf.config.list_physical_devices returns, plus the facts a user asks for next.
struct LOOM_API PhysicalDevice {
  std::string name;         // "CPU:0", "GPU:0"
  std::string device_type;  // "CPU" or "GPU"
  std::string description;  // e.g. "NVIDIA H100 80GB HBM3, compute capability 9.0"
  int64_t total_memory = 0;  // bytes (0 where unknown)
  int64_t free_memory = 0;
  int32_t compute_capability_major = 0;
  int32_t compute_capability_minor = 0;
};

// All devices of a kind ("CPU", "GPU"), or every device when `device_type` is empty.
LOOM_API std::vector<PhysicalDevice> list_physical_devices(std::string_view device_type = "");

// Pins every op of this thread to a device while alive (RAII, nests): TF's `with tf.device(...)`.
// Inputs that live elsewhere are copied to the pinned device.
class LOOM_API DeviceScope {
 public:
  explicit DeviceScope(std::string_view device);
  explicit DeviceScope(Device device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
};
// The innermost scope of this thread, if any.
LOOM_API bool current_device_scope(Device* out);

struct LOOM_API MemoryStats {
  int64_t live_bytes = 0;    // held by tensors
  int64_t peak_bytes = 0;    // highest live_bytes since start (or reset_peak)
  int64_t cached_bytes = 0;  // kept by a caching allocator for reuse
  int64_t limit_bytes = 0;   // 0 = no limit
};

LOOM_API MemoryStats memory_stats(std::string_view device = "CPU:0");
LOOM_API void reset_peak_memory(std::string_view device = "CPU:0");
// Returns cached, unused blocks to the system (GPU caching allocator).
LOOM_API void empty_cache(std::string_view device);
// Hard limit for a device's allocator (TF's memory_limit); 0 removes it.
LOOM_API void set_memory_limit(std::string_view device, int64_t bytes);
// TF's set_memory_growth: true (default) grows on demand; false reserves the limit (or most of
// the memory) at first use.
LOOM_API void set_memory_growth(std::string_view device, bool enabled);
// Waits for all queued work on a device.
LOOM_API void synchronize(std::string_view device);

// float32 matrix products on GPUs: "highest" (default, full float32) or "high" (TF32 tensor
// cores: ~10 bits of mantissa in the products, float32 accumulation), as PyTorch's setting.
LOOM_API void set_float32_matmul_precision(std::string_view precision);
LOOM_API std::string float32_matmul_precision();

// GPU convolutions on cuDNN (default, when the CUDA backend was built with it) or on loom's own
// im2col + cuBLAS kernels, as PyTorch's torch.backends.cudnn.enabled. Both are deterministic.
LOOM_API void set_cudnn_enabled(bool enabled);
LOOM_API bool cudnn_enabled();

}  // namespace loom
