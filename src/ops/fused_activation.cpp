#include "ops/fused_activation.hpp"

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "ops/op_utils.hpp"

namespace loom::ops {

bool fusable_activation(const std::string& act) {
  return act == "linear" || act == "relu" || act == "sigmoid" || act == "tanh";
}

std::string fused_activation(const OpCall& call) {
  std::string act = call.attrs.get_string("activation", call.name());
  if (!fusable_activation(act)) {
    throw InvalidArgument(op_prefix(call) + "activation must be linear, relu, sigmoid or tanh, got '" + act +
                          "' (apply other activations after " + call.name() + ")");
  }
  return act;
}

namespace {

Tensor pre_activation_grad(const Tensor& g, const Tensor& y, const std::string& act) {
  if (act == "relu") return ops::relu_grad(g, y);
  if (act == "sigmoid") return g * (y * (1.0 - y));
  if (act == "tanh") return g * (1.0 - y * y);
  return g;
}

std::vector<TensorMeta> infer_relu_bias_grad(const OpCall& call) {
  const Tensor &dy = call.inputs[0], &y = call.inputs[1];
  if (y.rank() < 1) throw ShapeError(op_prefix(call) + "y must have rank >= 1 (channels last), got a scalar");
  if (dy.shape() != y.shape()) {
    throw ShapeError(op_prefix(call) + "dy " + dy.shape().str() + " and y " + y.shape().str() + " must have one shape");
  }
  require_same_dtype(call);
  return {TensorMeta{y.shape(), y.dtype()}, TensorMeta{Shape{y.shape().back()}, y.dtype()}};
}

// The reference: relu's gradient, then its sum over every axis but the last.
std::vector<Tensor> fallback_relu_bias_grad(const OpCall& call) {
  infer_relu_bias_grad(call);
  const Tensor dz = relu_grad(call.inputs[0], call.inputs[1]);
  return {dz, reduce_sum(dz, all_but_last_axis(dz.rank()))};
}

}  // namespace

PreActivationGrads pre_activation_grads(const Tensor& g, const Tensor& y, const std::string& act, bool with_bias) {
  if (with_bias && act == "relu") {
    static const OpDef& op = find_op("relu_bias_grad");
    auto r = dispatch(op, {g, y}, {});
    return {r[0], r[1]};
  }
  const Tensor dz = pre_activation_grad(g, y, act);
  return {dz, with_bias ? reduce_sum(dz, all_but_last_axis(dz.rank())) : Tensor()};
}

LOOM_REGISTER_OPS(fused_activation) {
  define_op("relu_bias_grad").inputs({"dy", "y"}).dtypes(kFloatTypes | kHalfTypes).outputs({"dz", "dbias"})
      .infer(infer_relu_bias_grad).fallback(fallback_relu_bias_grad).grad_through_fallback()
      .doc("the gradients of an op ending in relu with a bias (dense, conv2d) from dy and its output y: "
           "dz = dy where y > 0, else 0, and dbias = dz summed over every axis but the last, in one pass");
}

}  // namespace loom::ops
