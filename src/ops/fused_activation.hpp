#pragma once
// Activations that an op applies to its own output (dense, conv2d) so that a backend can fuse
// them (a oneDNN eltwise post-op on the CPU). Each one's derivative is a function of the output,
// so the gradient needs no pre-activation tensor.
#include <string>

#include "loom/tensor.hpp"
#include "ops/registry.hpp"

namespace loom::ops {

// (fusable_activation and fused_activation, which kernels use too, are in loom/backend/kernel.hpp.)
// dL/d(pre-activation) from dL/dy and the output y (relu' = y > 0, sigmoid' = y(1-y), tanh' = 1-y^2).
Tensor pre_activation_grad(const Tensor& g, const Tensor& y, const std::string& act);

}  // namespace loom::ops
