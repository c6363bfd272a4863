// dense: x @ kernel + bias, then an activation, as one op so that a backend can fuse it (oneDNN
// matmul with a bias and an eltwise post-op on the CPU). Its gradient is written with ops.
#include "loom/nn_ops.hpp"
#include "ops/fused_activation.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

std::vector<TensorMeta> infer_dense(const OpCall& call) {
  ops::require_same_dtype(call);
  const Tensor& x = call.inputs[0];
  const Tensor& kernel = call.inputs[1];
  ops::fused_activation(call);
  if (x.rank() < 1 || kernel.rank() != 2 || x.shape().back() != kernel.shape()[0]) {
    throw ShapeError(ops::op_prefix(call) + "input " + x.shape().str() + " does not match kernel " +
                     kernel.shape().str() + " (need x (..., K) and kernel (K, units))");
  }
  if (call.inputs.size() == 3 && call.inputs[2].shape() != Shape{kernel.shape()[1]}) {
    throw ShapeError(ops::op_prefix(call) + "bias must have shape (" + std::to_string(kernel.shape()[1]) +
                     ",), got " + call.inputs[2].shape().str());
  }
  Shape out = x.shape();
  out[out.size() - 1] = kernel.shape()[1];
  return {TensorMeta{out, x.dtype()}};
}

std::vector<Tensor> grad_dense(const GradCall& g) {
  const Tensor &x = g.inputs[0], &kernel = g.inputs[1];
  const bool bias_grad = g.inputs.size() == 3 && g.needs[2];
  auto [dz, dbias] = ops::pre_activation_grads(g.grads[0], g.outputs[0], g.attrs.get_string("activation", g.name()), bias_grad);
  const int64_t k = kernel.shape()[0], units = kernel.shape()[1];
  std::vector<Tensor> out(g.inputs.size());
  if (g.needs[0]) out[0] = matmul(dz, kernel, false, true);
  if (g.needs[1]) out[1] = matmul(reshape(x, {-1, k}), reshape(dz, {-1, units}), true, false);
  if (bias_grad) out[2] = dbias;
  return out;
}

// The reference (fallback): a matmul, the bias and the activation as separate ops.
std::vector<Tensor> fallback_dense(const OpCall& call) {
  infer_dense(call);
  Tensor y = matmul(call.inputs[0], call.inputs[1]);
  if (call.inputs.size() == 3) y = y + call.inputs[2];
  return {activation(y, call.attrs.get_string("activation", call.name()))};
}

}  // namespace

LOOM_REGISTER_OPS(nn_dense) {
  define_op("dense").inputs({"x", "kernel"}).optional_inputs({"bias"}).dtypes(kFloatTypes | kHalfTypes)
      .attr("activation", std::string("linear")).infer(infer_dense).fallback(fallback_dense).grad(grad_dense)
      .saves(true, true)
      .doc("x @ kernel (+ bias), then linear/relu/sigmoid/tanh; x (..., K), kernel (K, units)");
}

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, const std::string& act) {
  static const OpDef& op = find_op("dense");
  if (!ops::fusable_activation(act)) return activation(dense(x, kernel, bias, "linear"), act);
  const Attrs attrs{{"activation", act}};
  return bias.defined() ? dispatch1(op, {x, kernel, bias}, attrs) : dispatch1(op, {x, kernel}, attrs);
}

}  // namespace loom
