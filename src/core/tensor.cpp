#include <limits>
#include "loom/tensor.hpp"

#include <cstring>
#include <sstream>
#include <string>

#include "autograd/recording.hpp"
#include "loom/backend.hpp"
#include "loom/ops.hpp"

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

Tensor Tensor::reshape(const Shape& shape) const { return loom::reshape(*this, shape); }
Tensor Tensor::transpose(const std::vector<int64_t>& perm) const {
  return loom::transpose(*this, perm);
}
Tensor Tensor::expand_dims(int64_t axis) const { return loom::expand_dims(*this, axis); }
Tensor Tensor::squeeze(const std::vector<int64_t>& axes) const { return loom::squeeze(*this, axes); }
Tensor Tensor::broadcast_to(const Shape& shape) const { return loom::broadcast_to(*this, shape); }
Tensor Tensor::cast(DType dtype) const { return loom::cast(*this, dtype); }

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return identity(*this);
}

Tensor Tensor::clone() const { return identity(*this); }

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  return call_op("copy_to_device", {*this}, Attrs{{"device", device.str()}})[0];
}

void Tensor::copy_to_host(void* dst, size_t nbytes) const {
  copy_to_host_as(dtype(), dst, nbytes);
}

void Tensor::copy_to_host_as(DType want, void* dst, size_t nbytes) const {
  if (nbytes != static_cast<size_t>(numel()) * dtype_size(want)) {
    throw InvalidArgument("[copy_to_host] buffer of " + std::to_string(nbytes) +
                          " bytes does not match " + std::to_string(numel()) + " " +
                          dtype_name(want) + " elements of shape " + shape().str());
  }
  if (nbytes == 0) return;
  detail::RecordingPause pause;  // reading values is not part of any gradient
  Tensor src = want == dtype() ? *this : loom::cast(*this, want);
  src = src.contiguous();
  const Device d = src.device();
  backend_for(d, "copy_to_host").copy_to_host(dst, src.data_ptr(), nbytes, d.index);
}

void Tensor::read_scalar(DType want, void* out) const {
  if (numel() != 1) {
    throw InvalidArgument("[item] needs a tensor with exactly one element, got shape " +
                          shape().str() + " (" + std::to_string(numel()) + " elements)");
  }
  copy_to_host_as(want, out, dtype_size(want));
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
