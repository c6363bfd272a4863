#pragma once
// Direct float32 kernels for convolutions of one-channel NHWC images: the forward convolution and
// its weight gradient (see the .cpp).
#include <string>

#include "loom/backend/geometry.hpp"
#include "loom/dtype.hpp"

namespace loom::cpu {

// Whether one_channel_conv serves this convolution: float32, one input channel, at most 16
// output channels, stride and dilation 1, activation linear or relu.
bool one_channel_conv_applies(const ops::Conv2DGeometry& g, DType dtype, const std::string& activation);
// Where one_channel_conv pools its output instead of writing it: 2x2 windows at stride 2 inside
// the output (max_pool_is_whole_2x2_stride_2), into y and argmax (max_pool2d's outputs).
struct MaxPoolOutput {
  Shape input;  // the convolution's output
  ops::Window2D window;
  float* y;
  int64_t* argmax;
};
// y = act(conv(x, filter) + bias): x NHWC with C = 1, filter HWIO, bias (C_out) or null, y NHWC;
// with `pool`, that pooling of it instead (y unused).
void one_channel_conv(const ops::Conv2DGeometry& g, const float* x, const float* filter, const float* bias, bool relu,
                      float* y, const MaxPoolOutput* pool = nullptr);
// Whether one_channel_filter_grad serves this convolution: as one_channel_conv, with a 3x3 or 5x5
// filter and fewer than 16 output channels.
bool one_channel_filter_grad_applies(const ops::Conv2DGeometry& g, DType dtype);
// df = the gradient of conv(x, f) with respect to f (HWIO, I = 1) for output gradient dy (NHWC).
void one_channel_filter_grad(const ops::Conv2DGeometry& g, const float* x, const float* dy, float* df);
// Whether one_channel_pooled_filter_grad serves this convolution and pooling of its output:
// float32, one input channel, a multiple of 16 output channels, stride and dilation 1, a 3x3 or
// 5x5 filter, and 2x2 windows at stride 2 inside the output (max_pool_is_whole_2x2_stride_2).
bool one_channel_pooled_filter_grad_applies(const ops::Conv2DGeometry& g, DType dtype, const ops::Window2D& pool);
// df = the gradient of conv(x, f) with respect to f (HWIO, I = 1) for the output gradient that
// max_pool2d_grad would scatter from dy and argmax (the pooling's gradient and indices, NHWC).
void one_channel_pooled_filter_grad(const ops::Conv2DGeometry& g, const ops::Window2D& pool, const float* x, const float* dy,
                                    const int64_t* argmax, float* df);

}  // namespace loom::cpu
