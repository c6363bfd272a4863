// Tensor: the handle, its facts and the creation of storage. The methods that run ops (views,
// casts, copies to devices and to the host) are in src/ops/tensor_methods.cpp, a layer up.
#include "loom/tensor.hpp"

#include <limits>
#include <string>

#include "loom/shape.hpp"

namespace loom {

void Tensor::throw_undefined() {
  throw InvalidArgument("[tensor] the tensor handle is empty (default-constructed or moved from)");
}

int64_t Tensor::dim(int64_t axis) const {
  return shape()[static_cast<size_t>(normalize_axis(axis, rank(), "dim"))];
}

bool Tensor::is_contiguous() const {
  const TensorImpl* t = checked();
  if (t->shape.numel() == 0) return true;  // nothing to lay out
  int64_t expected = 1;
  for (int i = t->shape.rank() - 1; i >= 0; --i) {
    if (t->shape[i] == 1) continue;
    if (t->strides[i] != expected) return false;
    expected *= t->shape[i];
  }
  return true;
}

Tensor empty(const Shape& shape, DType dtype, Device device, const char* op) {
  for (int64_t d : shape) {
    if (d < 0) {
      throw ShapeError(std::string("[") + op + "] dimensions must be >= 0, got shape " +
                       shape.str());
    }
  }
  const int64_t n = shape.numel();
  if (n > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dtype_size(dtype))) {
    throw OutOfMemoryError(std::string("[") + op + "] shape " + shape.str() + " of " + dtype_name(dtype) +
                           " needs more bytes than an address space holds");
  }
  const size_t nbytes = static_cast<size_t>(n) * dtype_size(dtype);
  auto storage = detail::make_ref<Storage>(nbytes, device, op);
  return Tensor(detail::make_ref<TensorImpl>(shape, contiguous_strides(shape), 0, dtype,
                                             std::move(storage)));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  return Tensor(detail::make_ref<TensorImpl>(std::move(shape), std::move(strides), offset,
                                             base.dtype(), base.impl()->storage));
}

}  // namespace loom
