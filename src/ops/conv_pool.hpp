#pragma once
// conv2d ending in relu, then max_pool2d, recorded as one op (internal): its gradient applies
// relu's derivative to the pooled gradient -- at each window's maximum it is y > 0, y being the
// pooled output -- before the scatter back to the convolution's output, so that the
// convolution's output is neither kept for the gradient nor read again by it: relu's gradient
// pass runs over a quarter of the elements (2x2 windows). On the CPU, a one-channel input layer
// pools each image while it is in cache (src/cpu/kernels_conv_pool.cpp); other devices run the two
// ops (the fallback). Sequential runs a Conv2D with relu and the MaxPool2D after it this way.
#include "core/internal_api.hpp"
#include "loom/nn_ops.hpp"

namespace loom::ops {

// max_pool2d(conv2d(x, filter, bias, conv with activation relu), pool); bias may be undefined.
// InvalidArgument unless conv.activation is "relu".
LOOM_INTERNAL_API Tensor conv2d_relu_max_pool2d(const Tensor& x, const Tensor& filter, const Tensor& bias,
                                                const Conv2DOptions& conv, const Pool2DOptions& pool);

}  // namespace loom::ops
