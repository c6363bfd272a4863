#pragma once
// Activations that an op applies to its own output (dense, conv2d) so that a backend can fuse
// them (a oneDNN eltwise post-op on the CPU). Each one's derivative is a function of the output,
// so the gradient needs no pre-activation tensor.
#include <string>

#include "loom/tensor.hpp"
#include "ops/registry.hpp"

namespace loom::ops {

// (fusable_activation and fused_activation, which kernels use too, are in loom/backend/kernel.hpp.)
struct PreActivationGrads {
  Tensor dz;     // dL/d(pre-activation)
  Tensor dbias;  // dz summed over every axis but the last (undefined without a bias)
};
// dL/d(pre-activation) from dL/dy and the output y (relu' = y > 0, sigmoid' = y(1-y), tanh' = 1-y^2),
// and the bias gradient when asked: for relu, one fused op (relu_bias_grad).
PreActivationGrads pre_activation_grads(const Tensor& g, const Tensor& y, const std::string& act, bool with_bias);

}  // namespace loom::ops
