#pragma once
// Max pooling fused with the relu before it. conv2d ending in relu, then max_pool2d, recorded as
// one op (internal): its gradient applies
// relu's derivative to the pooled gradient -- at each window's maximum it is y > 0, y being the
// pooled output -- before the scatter back to the convolution's output, so that the
// convolution's output is neither kept for the gradient nor read again by it: relu's gradient
// pass runs over a quarter of the elements (2x2 windows). On the CPU, a one-channel input layer
// pools each image while it is in cache (src/cpu/kernels_conv_pool.cpp); other devices run the two
// ops (the fallback). Where x needs no gradient (an input layer) the filter's gradient is one op
// too, conv2d_relu_max_pool2d_backprop_filter(x, masked pooled gradient, argmax): on the CPU a
// one-channel layer's comes from them directly, without the scatter. Sequential runs a Conv2D
// with relu and the MaxPool2D after it this way.
#include "core/internal_api.hpp"
#include "loom/nn_ops.hpp"

namespace loom::ops {

// max_pool2d(conv2d(x, filter, bias, conv with activation relu), pool); bias may be undefined.
// InvalidArgument unless conv.activation is "relu".
LOOM_INTERNAL_API Tensor conv2d_relu_max_pool2d(const Tensor& x, const Tensor& filter, const Tensor& bias,
                                                const Conv2DOptions& conv, const Pool2DOptions& pool);

// max_pool2d(relu(x), pool) as one op (internal), computed as relu(max_pool2d(x)) -- the maximum
// commutes with relu -- so relu runs over the pooled quarter of the elements both ways, and
// relu(x) is never made. Its gradient is conv2d_relu_max_pool2d's mask-then-scatter. Sequential
// runs an Activation("relu") and the MaxPool2D after it this way (the usual conv, batch norm,
// relu, pool).
LOOM_INTERNAL_API Tensor relu_max_pool2d(const Tensor& x, const Pool2DOptions& pool);

}  // namespace loom::ops
