// The methods of Tensor that run ops: views, casts, copies to other devices and to the host.
// (Tensor itself is in src/core; these live a layer up, with the ops they call.)
#include "loom/backend/backend.hpp"
#include "loom/ops.hpp"
#include "loom/tensor.hpp"
#include "ops/recording.hpp"

namespace loom {

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
  if (nbytes != tensor_nbytes(shape(), want, "copy_to_host")) {
    throw InvalidArgument("[copy_to_host] buffer of " + std::to_string(nbytes) +
                          " bytes does not match " + std::to_string(numel()) + " " +
                          dtype_name(want) + " elements of shape " + shape().str() + " (" +
                          std::to_string(tensor_nbytes(shape(), want, "copy_to_host")) + " bytes)");
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

}  // namespace loom
