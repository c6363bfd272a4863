#pragma once
// The interface a device backend implements (C++ only; not part of the C ABI). A backend
// supplies an allocator, copies and synchronisation, and registers kernels for op names in the
// op registry. CPU registers itself first and is the reference; the CUDA backend lives in its
// own shared object loaded at run time.
#include <cstddef>
#include <memory>

#include "loom/device.hpp"
#include "loom/export.hpp"

namespace loom {

class LOOM_API Allocator {
 public:
  virtual ~Allocator();
  // Throws OutOfMemoryError naming `op`, the request, the live bytes and the limit.
  virtual void* allocate(size_t nbytes, const char* op) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) noexcept = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
  virtual void set_limit(int64_t bytes) = 0;
  virtual void set_growth(bool enabled) { (void)enabled; }
  virtual void empty_cache() {}
};

class LOOM_API Backend {
 public:
  // Bumped on any incompatible change of this class; a backend built against another
  // version is refused at load time.
  static constexpr int kInterfaceVersion = 1;
  virtual ~Backend();
  virtual DeviceType type() const = 0;
  virtual int device_count() const = 0;
  virtual PhysicalDevice describe(int index) const = 0;
  virtual Allocator& allocator(int index) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes, int index) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes, int index) = 0;
  virtual void copy_on_device(void* dst, const void* src, size_t nbytes, int index) = 0;
  virtual void synchronize(int index) = 0;
};

LOOM_API void register_backend(std::unique_ptr<Backend> backend);
// The backend of `device`; throws DeviceError if there is none or the index is out of range.
LOOM_API Backend& backend_for(Device device, const char* op);
// Loads optional backends (the CUDA shared object) once; safe to call from any thread.
LOOM_API void load_optional_backends();

}  // namespace loom
