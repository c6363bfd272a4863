#include "ops/op_utils.hpp"

#include <algorithm>

namespace loom::ops {

void require_same_dtype(const OpCall& call) {
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    if (call.inputs[i].dtype() != call.inputs[0].dtype()) {
      throw DTypeError(op_prefix(call) + "dtype mismatch: input 0 is " +
                       dtype_name(call.inputs[0].dtype()) + ", input " + std::to_string(i) +
                       " is " + dtype_name(call.inputs[i].dtype()) + " (cast one of them)");
    }
  }
}

void require_dtype_in(const OpCall& call, size_t input, DTypeMask allowed) {
  const DType d = call.inputs[input].dtype();
  if (!(allowed & (1u << static_cast<int>(d)))) {
    throw DTypeError(op_prefix(call) + "input " + std::to_string(input) + " has dtype " +
                     dtype_name(d) + " (expected " + mask_names(allowed) + ")");
  }
}

std::vector<TensorMeta> infer_same_as_input(const OpCall& call) {
  return {TensorMeta{call.inputs[0].shape(), call.inputs[0].dtype()}};
}

static Shape broadcast_all(const OpCall& call) {
  Shape shape = call.inputs[0].shape();
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    shape = broadcast_shapes(shape, call.inputs[i].shape(), call.name());
  }
  return shape;
}

std::vector<TensorMeta> infer_broadcast_same_dtype(const OpCall& call) {
  require_same_dtype(call);
  return {TensorMeta{broadcast_all(call), call.inputs[0].dtype()}};
}

std::vector<TensorMeta> infer_broadcast_bool(const OpCall& call) {
  require_same_dtype(call);
  return {TensorMeta{broadcast_all(call), DType::Bool}};
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int lead = grad.rank() - shape.rank();
  std::vector<int64_t> axes;
  for (int i = 0; i < grad.rank(); ++i) {
    if (i < lead || (shape[static_cast<size_t>(i - lead)] == 1 && grad.shape()[i] != 1)) {
      axes.push_back(i);
    }
  }
  Tensor summed = axes.empty() ? grad : reduce_sum(grad, axes, /*keepdims=*/true);
  return reshape(summed, shape);
}

Tensor grad_or_zeros(const Tensor& grad, const TensorMeta& meta) {
  if (grad.defined()) return grad;
  DeviceScope on(meta.device);
  return zeros(meta.shape, meta.dtype);
}

std::vector<int> reduction_axes(const Attrs& attrs, int rank, const char* op) {
  std::vector<int> axes;
  if (!attrs.has("axes")) {
    for (int i = 0; i < rank; ++i) axes.push_back(i);
    return axes;
  }
  for (int64_t a : attrs.get_ints("axes", op)) axes.push_back(normalize_axis(a, rank, op));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    throw InvalidArgument(std::string("[") + op + "] axes contain a duplicate");
  }
  return axes;
}

Shape reduced_shape(const Shape& in, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  size_t k = 0;
  for (int i = 0; i < in.rank(); ++i) {
    const bool reduced = k < axes.size() && axes[k] == i;
    if (reduced) ++k;
    if (!reduced) out.push_back(in[static_cast<size_t>(i)]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

Attrs padding_attrs(const Padding& padding) {
  Attrs a{{"padding", padding.mode}};
  if (padding.mode == "explicit") a.set("explicit_paddings", padding.explicit_pads);
  return a;
}

}  // namespace loom::ops
