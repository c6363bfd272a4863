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

size_t tensor_nbytes(const Shape& shape, DType dtype, const char* op) {
  // As NumPy: the product of the non-zero dimensions must fit even when one is 0, so that
  // every stride of the shape is representable.
  int64_t count = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) {
      throw ShapeError(std::string("[") + op + "] dimensions must be >= 0, got shape " + shape.str());
    }
    empty = empty || d == 0;
    if (d != 0 && __builtin_mul_overflow(count, d, &count)) {
      throw ShapeError(std::string("[") + op + "] shape " + shape.str() +
                       " has more elements than fit in a 64-bit count");
    }
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(dtype_size(dtype)), &bytes)) {
    throw ShapeError(std::string("[") + op + "] shape " + shape.str() + " of " + dtype_name(dtype) + " (" +
                     std::to_string(count) + " elements) needs more than " +
                     std::to_string(std::numeric_limits<int64_t>::max()) + " bytes, the limit of one tensor");
  }
  return empty ? 0 : static_cast<size_t>(bytes);
}

Tensor empty(const Shape& shape, DType dtype, Device device, const char* op) {
  const size_t nbytes = tensor_nbytes(shape, dtype, op);  // before allocating anything
  auto storage = detail::make_ref<Storage>(nbytes, device, op);
  return Tensor(detail::make_ref<TensorImpl>(shape, contiguous_strides(shape), 0, dtype,
                                             std::move(storage), op));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset, const char* op) {
  return Tensor(detail::make_ref<TensorImpl>(std::move(shape), std::move(strides), offset,
                                             base.dtype(), base.impl()->storage, op));
}

}  // namespace loom
