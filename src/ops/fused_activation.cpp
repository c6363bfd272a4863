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

Tensor pre_activation_grad(const Tensor& g, const Tensor& y, const std::string& act) {
  if (act == "relu") return ops::relu_grad(g, y);
  if (act == "sigmoid") return g * (y * (1.0 - y));
  if (act == "tanh") return g * (1.0 - y * y);
  return g;
}

}  // namespace loom::ops
