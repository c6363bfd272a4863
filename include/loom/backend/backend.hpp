#pragma once
// The interface a device backend implements (C++ only; not part of the C ABI). A backend
// supplies an allocator, copies and synchronisation, and registers kernels for op names in the
// op registry. CPU registers itself first and is the reference; the CUDA backend lives in its
// own shared object loaded at run time.
#include <cstddef>
#include <memory>

#include "loom/device.hpp"
#include "loom/backend/api.hpp"

namespace loom {

/// The memory of one device, as a backend provides it (C++ only, for backend authors).
class LOOM_BACKEND_API Allocator {
 public:
  virtual ~Allocator();
  /// Returns `nbytes` of device memory. Throws OutOfMemoryError naming `op`, the request, the
  /// live bytes and the limit.
  virtual void* allocate(size_t nbytes, const char* op) = 0;
  /// Gives back a block from allocate() with its size; never throws.
  virtual void deallocate(void* ptr, size_t nbytes) noexcept = 0;
  /// The current memory statistics.
  virtual MemoryStats stats() const = 0;
  /// Sets the peak to the current live bytes.
  virtual void reset_peak() = 0;
  /// Sets a hard limit on live bytes (0: none).
  virtual void set_limit(int64_t bytes) = 0;
  /// Grow on demand (true) or reserve at first use (false); ignored by default.
  virtual void set_growth(bool enabled) { (void)enabled; }
  /// Releases cached, unused blocks; does nothing by default.
  virtual void empty_cache() {}
};

/// A device backend: devices of one DeviceType with their allocators, copies and
/// synchronisation (C++ only, for backend authors). Kernels are registered separately in the
/// op registry. `index` arguments select the device of the backend's type.
class LOOM_BACKEND_API Backend {
 public:
  /// Bumped on any incompatible change of this class; a backend built against another
  /// version is refused at load time.
  static constexpr int kInterfaceVersion = LOOM_BACKEND_API_VERSION;
  virtual ~Backend();
  /// The kind of device served.
  virtual DeviceType type() const = 0;
  /// Number of devices of this kind.
  virtual int device_count() const = 0;
  /// Facts about device `index`.
  virtual PhysicalDevice describe(int index) const = 0;
  /// The allocator of device `index`.
  virtual Allocator& allocator(int index) = 0;
  /// Copies `nbytes` from host memory `src` to device memory `dst`.
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes, int index) = 0;
  /// Copies `nbytes` from device memory `src` to host memory `dst`.
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes, int index) = 0;
  /// Copies `nbytes` between two blocks of device `index`.
  virtual void copy_on_device(void* dst, const void* src, size_t nbytes, int index) = 0;
  /// Waits for all queued work on device `index`.
  virtual void synchronize(int index) = 0;
};

/// Registers the backend of a device type; one per type (InternalError for a second one).
/// loom registers the CPU backend itself.
LOOM_BACKEND_API void register_backend(std::unique_ptr<Backend> backend);
/// The backend of `device`; throws DeviceError naming `op` if there is none or the index is out
/// of range.
LOOM_BACKEND_API Backend& backend_for(Device device, const char* op);
/// Loads optional backends (the CUDA shared object) once; safe to call from any thread.
LOOM_BACKEND_API void load_optional_backends();

}  // namespace loom
