#include "ops/op_utils.hpp"

#include <algorithm>

namespace loom::ops {

std::string input_name(const OpCall& call, size_t i) {
  const std::string& name = call.op.input(i).name;
  return call.op.max_inputs < 0 ? name + "[" + std::to_string(i) + "]" : name;
}

std::string input_with_shape(const OpCall& call, size_t i) {
  return input_name(call, i) + " " + call.inputs[i].shape().str();
}

namespace {

// The error for inputs (`which`, all when empty) that do not broadcast at `axis` of `rank`.
[[noreturn]] void throw_not_broadcastable(const OpCall& call, const std::vector<size_t>& which, size_t rank,
                                          size_t axis) {
  std::string sizes, operands;  // "3 vs 4"; "a [2, 3] and b [2, 4]"
  const size_t n = which.empty() ? call.inputs.size() : which.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = which.empty() ? k : which[k];
    const Shape& s = call.inputs[i].shape();
    sizes += (k == 0 ? "" : " vs ") + std::to_string(axis < rank - s.size() ? 1 : s[axis - (rank - s.size())]);
    operands += (k == 0 ? "" : k + 1 == n ? " and " : ", ") + input_with_shape(call, i);
  }
  throw ShapeError(op_prefix(call) + operands + " are not broadcastable (axis " + std::to_string(axis) + ": " + sizes +
                   ")");
}

}  // namespace

// Runs on every elementwise call: no allocation beyond the result (the error text is built only
// when there is an error).
Shape broadcast_inputs(const OpCall& call, std::vector<size_t> which) {
  const size_t n = which.empty() ? call.inputs.size() : which.size();
  const auto shape_of = [&](size_t k) -> const Shape& { return call.inputs[which.empty() ? k : which[k]].shape(); };
  size_t rank = 0;
  for (size_t k = 0; k < n; ++k) rank = std::max(rank, shape_of(k).size());
  Shape out = Shape::filled(rank, 1);
  for (size_t axis = 0; axis < rank; ++axis) {
    for (size_t k = 0; k < n; ++k) {
      const Shape& s = shape_of(k);
      const int64_t d = axis < rank - s.size() ? 1 : s[axis - (rank - s.size())];
      if (d == 1) continue;
      if (out[axis] != 1 && out[axis] != d) throw_not_broadcastable(call, which, rank, axis);
      out[axis] = d;
    }
  }
  return out;
}

void require_same_dtype(const OpCall& call) {
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    if (call.inputs[i].dtype() != call.inputs[0].dtype()) {
      throw DTypeError(op_prefix(call) + "dtype mismatch: " + input_name(call, 0) + " is " +
                       dtype_name(call.inputs[0].dtype()) + ", " + input_name(call, i) + " is " +
                       dtype_name(call.inputs[i].dtype()) + " (cast one of them)");
    }
  }
}

void require_dtype_in(const OpCall& call, size_t input, DTypeMask allowed) {
  const DType d = call.inputs[input].dtype();
  if (!(allowed & (1u << static_cast<int>(d)))) {
    throw DTypeError(op_prefix(call) + input_name(call, input) + " has dtype " + dtype_name(d) + " (expected " +
                     mask_names(allowed) + ")");
  }
}

std::vector<TensorMeta> infer_same_as_input(const OpCall& call) {
  return {TensorMeta{call.inputs[0].shape(), call.inputs[0].dtype()}};
}

std::vector<TensorMeta> infer_broadcast_same_dtype(const OpCall& call) {
  require_same_dtype(call);
  return {TensorMeta{broadcast_inputs(call), call.inputs[0].dtype()}};
}

std::vector<TensorMeta> infer_broadcast_bool(const OpCall& call) {
  require_same_dtype(call);
  return {TensorMeta{broadcast_inputs(call), DType::Bool}};
}

std::vector<int64_t> all_but_last_axis(int rank) {
  std::vector<int64_t> axes;
  for (int i = 0; i + 1 < rank; ++i) axes.push_back(i);
  return axes;
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

Attrs pool_attrs(const Pool2DOptions& options) {
  Attrs a = padding_attrs(options.padding);
  a.set("window", options.window);
  if (!options.strides.empty()) a.set("strides", options.strides);
  return a;
}

}  // namespace loom::ops
