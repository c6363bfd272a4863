// softmax / log_softmax (fused, numerically stable kernels; gradients written with ops) and the
// cross-entropy losses built on them.
#include "loom/nn_ops.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

int softmax_axis(const Attrs& attrs, int rank, const char* op) {
  if (rank == 0) throw ShapeError(std::string("[") + op + "] input must have rank >= 1");
  return normalize_axis(attrs.get_int("axis", op), rank, op);
}

std::vector<TensorMeta> infer_softmax(const OpCall& call) {
  softmax_axis(call.attrs, call.inputs[0].rank(), call.name());
  return ops::infer_same_as_input(call);
}

std::vector<int64_t> axis_list(const GradCall& g) {
  return {softmax_axis(g.attrs, g.input_metas[0].shape.rank(), g.name())};
}

// d softmax: y * (g - sum(g * y)).
std::vector<Tensor> grad_softmax(const GradCall& g) {
  const Tensor& y = g.outputs[0];
  return {y * (g.grads[0] - reduce_sum(g.grads[0] * y, axis_list(g), true))};
}

// d log_softmax: g - softmax * sum(g).
std::vector<Tensor> grad_log_softmax(const GradCall& g) {
  return {g.grads[0] - exp(g.outputs[0]) * reduce_sum(g.grads[0], axis_list(g), true)};
}

// The references (fallbacks) of both: shifted by the maximum so that exp never overflows.
std::vector<Tensor> reference_softmax(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const std::vector<int64_t> axis{softmax_axis(call.attrs, x.rank(), call.name())};
  const Tensor z = x - reduce_max(x, axis, true);
  const Tensor e = exp(z);
  return {e / reduce_sum(e, axis, true)};
}
std::vector<Tensor> reference_log_softmax(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const std::vector<int64_t> axis{softmax_axis(call.attrs, x.rank(), call.name())};
  const Tensor z = x - reduce_max(x, axis, true);
  return {z - log(reduce_sum(exp(z), axis, true))};
}

Tensor log_softmax_on(const Tensor& logits, int64_t axis) {
  static const OpDef& op = find_op("log_softmax");
  return dispatch1(op, {logits}, Attrs{{"axis", axis}});
}

std::vector<Tensor> forward_sparse_xent(const OpCall& call) {
  const Tensor& labels = call.inputs[0];
  const Tensor& logits = call.inputs[1];
  if (logits.rank() < 1 || labels.shape() != Shape(logits.shape().data(), logits.shape().size() - 1)) {
    throw ShapeError(ops::op_prefix(call) + "labels " + labels.shape().str() +
                     " must have the shape of logits " + logits.shape().str() + " without the last axis");
  }
  const int64_t classes = logits.shape().back();
  if (labels.numel() > 0) {  // out-of-range labels are an error (as TF on CPU), never a silent 0
    const Tensor lo = reduce_min(labels), hi = reduce_max(labels);
    if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= classes) {
      throw InvalidArgument(ops::op_prefix(call) + "labels must be in [0, " + std::to_string(classes) +
                            "), got values from " + std::to_string(lo.item<int64_t>()) + " to " +
                            std::to_string(hi.item<int64_t>()));
    }
  }
  return {-reduce_sum(one_hot(labels, classes, 1.0, 0.0, logits.dtype()) * log_softmax_on(logits, -1),
                      std::vector<int64_t>{-1})};
}

std::vector<Tensor> forward_xent(const OpCall& call) {
  const Tensor& labels = call.inputs[0];
  const Tensor& logits = call.inputs[1];
  if (labels.dtype() != logits.dtype() || labels.shape() != logits.shape()) {
    throw ShapeError(ops::op_prefix(call) + "labels " + labels.shape().str() + " " + dtype_name(labels.dtype()) +
                     " must match logits " + logits.shape().str() + " " + dtype_name(logits.dtype()));
  }
  const int64_t axis = softmax_axis(call.attrs, logits.rank(), call.name());
  return {-reduce_sum(labels * log_softmax_on(logits, axis), std::vector<int64_t>{axis})};
}

// max(x, 0) - x * z + log(1 + exp(-|x|)): no overflow for any logit.
std::vector<Tensor> forward_sigmoid_xent(const OpCall& call) {
  const Tensor& z = call.inputs[0];
  const Tensor& x = call.inputs[1];
  if (z.dtype() != x.dtype() || z.shape() != x.shape()) {
    throw ShapeError(ops::op_prefix(call) + "labels " + z.shape().str() + " " + dtype_name(z.dtype()) +
                     " must match logits " + x.shape().str() + " " + dtype_name(x.dtype()));
  }
  return {relu(x) - x * z + log1p(exp(-abs(x)))};
}

}  // namespace

LOOM_REGISTER_OPS(nn_softmax) {
  define_op("softmax").inputs({"logits"}).dtypes(kFloatTypes | kHalfTypes).attr("axis", int64_t{-1}).infer(infer_softmax)
      .fallback(reference_softmax).grad(grad_softmax).saves(false, true).doc("exp(x - max) / sum(exp(x - max)) along axis (default -1)");
  define_op("log_softmax").inputs({"logits"}).dtypes(kFloatTypes | kHalfTypes).attr("axis", int64_t{-1}).infer(infer_softmax)
      .fallback(reference_log_softmax).grad(grad_log_softmax).saves(false, true).doc("x - max - log(sum(exp(x - max))) along axis (default -1)");
  define_op("sparse_softmax_cross_entropy_with_logits").inputs({"labels", "logits"})
      .input_dtypes(0, kIntTypes).input_dtypes(1, kFloatTypes | kHalfTypes).composite(forward_sparse_xent)
      .doc("per-example -log softmax(logits)[label]; (labels int, logits (..., classes))");
  define_op("softmax_cross_entropy_with_logits").inputs({"labels", "logits"}).dtypes(kFloatTypes | kHalfTypes)
      .attr("axis", int64_t{-1}).composite(forward_xent)
      .doc("per-example -sum(labels * log_softmax(logits)); labels are distributions");
  define_op("sigmoid_cross_entropy_with_logits").inputs({"labels", "logits"}).dtypes(kFloatTypes | kHalfTypes).composite(forward_sigmoid_xent)
      .doc("elementwise binary cross-entropy of logits against 0-1 labels");
}

Tensor softmax(const Tensor& logits, int64_t axis) {
  static const OpDef& op = find_op("softmax");
  return dispatch1(op, {logits}, Attrs{{"axis", axis}});
}
Tensor log_softmax(const Tensor& logits, int64_t axis) { return log_softmax_on(logits, axis); }
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  return call_op("sparse_softmax_cross_entropy_with_logits", {labels, logits})[0];
}
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis) {
  return call_op("softmax_cross_entropy_with_logits", {labels, logits}, Attrs{{"axis", axis}})[0];
}
Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  return call_op("sigmoid_cross_entropy_with_logits", {labels, logits})[0];
}

}  // namespace loom
