#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loom/export.hpp"

namespace loom {

/// Kind of device: CPU (always present) or GPU (CUDA, when its backend loads).
enum class DeviceType : int32_t { CPU = 0, GPU = 1 };

/// A device an op runs on: "CPU:0", "GPU:0", "GPU:1", ...
struct LOOM_API Device {
  DeviceType type = DeviceType::CPU;  ///< The kind.
  int32_t index = 0;                  ///< Index among the devices of that kind.

  /// CPU:0.
  constexpr Device() = default;
  /// Device `i` of kind `t` (not checked to exist).
  constexpr Device(DeviceType t, int32_t i) : type(t), index(i) {}
  /// Accepts "CPU", "CPU:0", "GPU:1", "/device:GPU:0", "/physical_device:GPU:0" (case-insensitive
  /// kind; "CUDA" is a synonym of "GPU"). Throws DeviceError naming the text on anything else.
  /// The device is not checked to exist.
  static Device parse(std::string_view name);
  /// CPU:0.
  static constexpr Device cpu() { return Device(); }
  /// "CPU:0", "GPU:1", ...
  std::string str() const;
  /// Whether this is a CPU device.
  bool is_cpu() const { return type == DeviceType::CPU; }
  /// Same kind and index.
  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && a.index == b.index;
  }
  /// Kind or index differ.
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

/// What tf.config.list_physical_devices returns, plus the facts a user asks for next.
struct LOOM_API PhysicalDevice {
  std::string name;         ///< "CPU:0", "GPU:0", ...
  std::string device_type;  ///< "CPU" or "GPU".
  std::string description;  ///< Model and details, such as "NVIDIA H100 80GB HBM3, compute capability 9.0".
  int64_t total_memory = 0;  ///< Bytes (0 where unknown).
  int64_t free_memory = 0;   ///< Bytes free when listed (0 where unknown).
  int32_t compute_capability_major = 0;  ///< CUDA compute capability, major part (0 for CPUs).
  int32_t compute_capability_minor = 0;  ///< CUDA compute capability, minor part (0 for CPUs).
};

/// All devices of a kind ("CPU", "GPU"), or every device when `device_type` is empty. Loads
/// the optional GPU backend first; an unknown kind is an InvalidArgument.
LOOM_API std::vector<PhysicalDevice> list_physical_devices(std::string_view device_type = "");

/// Pins every op of this thread to a device while alive (RAII, nests): TF's `with tf.device(...)`.
/// Inputs that live elsewhere are copied to the pinned device.
class LOOM_API DeviceScope {
 public:
  /// Pins to the device named `device` ("GPU:0"); DeviceError if it does not exist.
  explicit DeviceScope(std::string_view device);
  /// Same as above, for a Device.
  explicit DeviceScope(Device device);
  /// Restores the enclosing scope (scopes must end in reverse order, as C++ scopes do).
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;             ///< Not copyable.
  DeviceScope& operator=(const DeviceScope&) = delete;  ///< Not copyable.
};
/// The device of this thread's innermost DeviceScope: writes it to `*out` and returns true, or
/// returns false (leaving `*out` alone) when there is none.
LOOM_API bool current_device_scope(Device* out);

/// Memory use of one device's allocator, in bytes.
struct LOOM_API MemoryStats {
  int64_t live_bytes = 0;    ///< Held by tensors.
  int64_t peak_bytes = 0;    ///< Highest live_bytes since start (or reset_peak_memory).
  int64_t cached_bytes = 0;  ///< Kept by a caching allocator for reuse.
  int64_t limit_bytes = 0;   ///< The memory limit; 0 = no limit.
};

/// The memory statistics of a device ("CPU:0", "GPU:0"); DeviceError if it does not exist.
LOOM_API MemoryStats memory_stats(std::string_view device = "CPU:0");
/// Sets a device's peak_bytes to its current live_bytes.
LOOM_API void reset_peak_memory(std::string_view device = "CPU:0");
/// Returns cached, unused blocks to the system (the GPU caching allocator; the CPU allocator's
/// cache of large blocks).
LOOM_API void empty_cache(std::string_view device);
/// Hard limit for a device's allocator (TF's memory_limit); 0 removes it. Allocations beyond it
/// are OutOfMemoryErrors. InvalidArgument for negative bytes; DeviceError on a GPU that has
/// already reserved its memory.
LOOM_API void set_memory_limit(std::string_view device, int64_t bytes);
/// TF's set_memory_growth: true (default) grows on demand; false reserves the limit (or most of
/// the memory) at first use. GPUs only (ignored on the CPU); DeviceError once the GPU is in use.
LOOM_API void set_memory_growth(std::string_view device, bool enabled);
/// Waits for all queued work on a device.
LOOM_API void synchronize(std::string_view device);

/// float32 matrix products on GPUs: "highest" (default, full float32) or "high" (TF32 tensor
/// cores: ~10 bits of mantissa in the products, float32 accumulation), as PyTorch's setting.
/// Anything else is an InvalidArgument.
LOOM_API void set_float32_matmul_precision(std::string_view precision);
/// The current setting: "highest" or "high".
LOOM_API std::string float32_matmul_precision();

/// GPU convolutions on cuDNN (default, when the CUDA backend was built with it) or on loom's own
/// im2col + cuBLAS kernels, as PyTorch's torch.backends.cudnn.enabled. Both are deterministic.
LOOM_API void set_cudnn_enabled(bool enabled);
/// Whether GPU convolutions may use cuDNN (the setting of set_cudnn_enabled).
LOOM_API bool cudnn_enabled();

}  // namespace loom
