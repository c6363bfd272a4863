#pragma once
// Activations that an op applies to its own output (dense, conv2d) so that a backend can fuse
// them (a oneDNN eltwise post-op on the CPU). Each one's derivative is a function of the output,
// so the gradient needs no pre-activation tensor.
#include <string>

#include "loom/tensor.hpp"
#include "ops/registry.hpp"

namespace loom::ops {

LOOM_API bool fusable_activation(const std::string& act);
// The call's "activation" attribute ("linear" when absent); InvalidArgument naming the op when
// it is not fusable.
LOOM_API std::string fused_activation(const OpCall& call);
// dL/d(pre-activation) from dL/dy and the output y (relu' = y > 0, sigmoid' = y(1-y), tanh' = 1-y^2).
LOOM_API Tensor pre_activation_grad(const Tensor& g, const Tensor& y, const std::string& act);

}  // namespace loom::ops
