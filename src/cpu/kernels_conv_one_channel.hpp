#pragma once
// A direct float32 forward convolution for one-channel NHWC images (see the .cpp).
#include <string>

#include "loom/backend/geometry.hpp"
#include "loom/dtype.hpp"

namespace loom::cpu {

// Whether one_channel_conv serves this convolution: float32, one input channel, at most 16
// output channels, stride and dilation 1, activation linear or relu.
bool one_channel_conv_applies(const ops::Conv2DGeometry& g, DType dtype, const std::string& activation);
// y = act(conv(x, filter) + bias): x NHWC with C = 1, filter HWIO, bias (C_out) or null, y NHWC.
void one_channel_conv(const ops::Conv2DGeometry& g, const float* x, const float* filter, const float* bias, bool relu,
                      float* y);

}  // namespace loom::cpu
