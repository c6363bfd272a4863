// Batch normalisation over every axis but the last (channels-last).
//   batch_norm (training): (x, gamma, beta) -> (y, batch mean, batch variance), one fused kernel;
//   its gradient is batch_norm_grad, another fused kernel, whose own gradient (second order) is
//   that of its fallback, the composite reference below (grad_through_fallback).
#include "loom/nn_ops.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

void check_channels(const OpCall& call, const Tensor& x, size_t first, size_t last) {
  if (x.rank() < 1) throw ShapeError(ops::op_prefix(call) + "input must have rank >= 1");
  const Shape c{x.shape().back()};
  for (size_t i = first; i <= last; ++i) {
    if (call.inputs[i].shape() != c) {
      throw ShapeError(ops::op_prefix(call) + ops::input_with_shape(call, i) + " must have shape " + c.str() +
                       " (one value per channel of " + ops::input_with_shape(call, 0) + ")");
    }
  }
  ops::require_same_dtype(call);
}

double epsilon_of(const Attrs& attrs, const char* op) {
  const double eps = attrs.get_float("epsilon", op);
  if (!(eps > 0)) throw InvalidArgument(std::string("[") + op + "] epsilon must be > 0");
  return eps;
}

std::vector<TensorMeta> infer_batch_norm(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  check_channels(call, x, 1, 2);
  epsilon_of(call.attrs, call.name());
  const Shape c{x.shape().back()};
  return {TensorMeta{x.shape(), x.dtype()}, TensorMeta{c, x.dtype()}, TensorMeta{c, x.dtype()}};
}

// Inputs: dy, x, gamma, mean, variance. Outputs: dx, dgamma, dbeta.
std::vector<TensorMeta> infer_batch_norm_grad(const OpCall& call) {
  const Tensor& x = call.inputs[1];
  if (call.inputs[0].shape() != x.shape()) {
    throw ShapeError(ops::op_prefix(call) + "gradient " + call.inputs[0].shape().str() + " and input " +
                     x.shape().str() + " differ");
  }
  check_channels(call, x, 2, 4);
  epsilon_of(call.attrs, call.name());
  const Shape c{x.shape().back()};
  return {TensorMeta{x.shape(), x.dtype()}, TensorMeta{c, x.dtype()}, TensorMeta{c, x.dtype()}};
}

// The fused backward kernel as ops, with mean and variance as independent inputs.
std::vector<Tensor> reference_batch_norm_grad(const std::vector<Tensor>& in, double eps) {
  const Tensor &dy = in[0], &x = in[1], &gamma = in[2], &mean = in[3], &var = in[4];
  const auto axes = ops::all_but_last_axis(x.rank());
  const double m = static_cast<double>(x.numel() / std::max<int64_t>(x.shape().back(), 1));
  const Tensor inv_std = rsqrt(var + eps);
  const Tensor xhat = (x - mean) * inv_std;
  const Tensor dbeta = reduce_sum(dy, axes);
  const Tensor dgamma = reduce_sum(dy * xhat, axes);
  const Tensor dx = gamma * inv_std / m * (dy * m - dbeta - xhat * dgamma);
  return {dx, dgamma, dbeta};
}

std::vector<Tensor> fallback_batch_norm_grad(const OpCall& call) {
  return reference_batch_norm_grad(call.inputs, epsilon_of(call.attrs, call.name()));
}

// The batch statistics and the normalised output as ops (the reference of the fused kernel).
std::vector<Tensor> fallback_batch_norm(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  infer_batch_norm(call);
  const auto axes = ops::all_but_last_axis(x.rank());
  const Tensor mean = reduce_mean(x, axes);
  const Tensor centered = x - mean;
  const Tensor variance = reduce_mean(square(centered), axes);
  return {centered * (call.inputs[1] * rsqrt(variance + epsilon_of(call.attrs, call.name()))) + call.inputs[2], mean,
          variance};
}

std::vector<Tensor> grad_batch_norm(const GradCall& g) {
  static const OpDef& op = find_op("batch_norm_grad");
  const Tensor &x = g.inputs[0], &gamma = g.inputs[1];
  const Tensor &mean = g.outputs[1], &var = g.outputs[2];
  const Tensor dy = ops::grad_or_zeros(g.grads[0], TensorMeta(x.shape(), x.dtype(), x.device()));
  std::vector<Tensor> r = dispatch(op, {dy, x, gamma, mean, var}, g.attrs);
  // Gradients that reached the batch statistics themselves.
  const double m = static_cast<double>(x.numel() / std::max<int64_t>(x.shape().back(), 1));
  if (g.grads[1].defined()) r[0] = r[0] + g.grads[1] / m;
  if (g.grads[2].defined()) r[0] = r[0] + g.grads[2] * (2.0 / m) * (x - mean);
  return r;
}

std::vector<Tensor> forward_batch_norm_inference(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  check_channels(call, x, 1, 4);
  const double eps = epsilon_of(call.attrs, call.name());
  const Tensor scale = call.inputs[1] * rsqrt(call.inputs[4] + eps);
  return {(x - call.inputs[3]) * scale + call.inputs[2]};
}

}  // namespace

LOOM_REGISTER_OPS(nn_norm) {
  define_op("batch_norm").inputs({"x", "gamma", "beta"}).dtypes(kFloatTypes | kHalfTypes).outputs({"y", "mean", "variance"})
      .attr("epsilon", 1e-3).infer(infer_batch_norm).fallback(fallback_batch_norm).grad(grad_batch_norm)
      .saves(true, true)
      .doc("training batch normalisation over all axes but the last: (x, gamma, beta) -> (y, batch mean, "
           "biased batch variance)");
  define_op("batch_norm_grad").inputs({"dy", "x", "gamma", "mean", "variance"}).dtypes(kFloatTypes | kHalfTypes)
      .outputs({"dx", "dgamma", "dbeta"}).attr("epsilon", 1e-3).infer(infer_batch_norm_grad)
      .fallback(fallback_batch_norm_grad).grad_through_fallback()
      .doc("gradient of batch_norm: (dy, x, gamma, mean, variance) -> (dx, dgamma, dbeta)");
  define_op("batch_norm_inference").inputs({"x", "gamma", "beta", "mean", "variance"}).dtypes(kFloatTypes | kHalfTypes)
      .attr("epsilon", 1e-3)
      .composite(forward_batch_norm_inference)
      .doc("(x - mean) * gamma / sqrt(variance + epsilon) + beta with given statistics");
}

BatchNormResult batch_norm_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  static const OpDef& op = find_op("batch_norm");
  auto r = dispatch(op, {x, gamma, beta}, Attrs{{"epsilon", epsilon}});
  return {r[0], r[1], r[2]};
}

Tensor batch_norm_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                            const Tensor& variance, double epsilon) {
  static const OpDef& op = find_op("batch_norm_inference");
  return dispatch1(op, {x, gamma, beta, mean, variance}, Attrs{{"epsilon", epsilon}});
}

}  // namespace loom
