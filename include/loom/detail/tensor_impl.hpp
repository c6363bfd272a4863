#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "loom/detail/ref.hpp"
#include "loom/device.hpp"
#include "loom/dtype.hpp"
#include "loom/export.hpp"
#include "loom/shape.hpp"

namespace loom {

class Allocator;

// Bytes on one device, owned through that device's allocator.
class LOOM_API Storage : public detail::RefCounted {
 public:
  // Allocates `nbytes` on `device` (throws OutOfMemoryError naming `op`).
  Storage(size_t nbytes, Device device, const char* op);
  // Wraps caller memory; `deleter(data, user)` runs exactly once when the storage dies.
  Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*), void* user);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  void (*deleter_)(void*, void*) = nullptr;
  void* deleter_user_ = nullptr;
  uint64_t budget_token_ = 0;  // the allocation budget charged for it, if any
};

struct VariableInfo {
  std::string name;
  bool trainable = true;
};

// The state behind a Tensor handle. Views share `storage` with other impls.
class LOOM_API TensorImpl : public detail::RefCounted {
 public:
  // Checks the layout (ShapeError naming `op`): sizes as tensor_nbytes(), a non-negative
  // offset and every addressable element inside `storage`, so no later size computation wraps.
  TensorImpl(Shape shape, Shape strides, int64_t offset, DType dtype,
             detail::Ref<Storage> storage, const char* op);
  ~TensorImpl();

  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype;
  detail::Ref<Storage> storage;
  uint64_t id;  // unique for the process lifetime; the gradient tape keys on it
  std::unique_ptr<VariableInfo> variable;  // set when this impl is a Variable's value

  void* data() const {
    char* base = static_cast<char*>(storage->data());  // null for empty storage
    return base ? base + offset * static_cast<int64_t>(dtype_size(dtype)) : nullptr;
  }
};

}  // namespace loom
