#pragma once
// Max pooling's forward on the CPU, for kernels that pool what they compute (conv2d_relu_max_pool2d).
#include "loom/backend/geometry.hpp"
#include "loom/tensor.hpp"

namespace loom::cpu {

// max_pool2d of x (NHWC; float32, float64 or bfloat16) over windows w into y and argmax (int64,
// the flat index of each maximum in x), both allocated.
void max_pool_into(const Tensor& x, const ops::Window2D& w, const Tensor& y, const Tensor& argmax);

// Whether w is 2x2 windows at stride 2 that all lie inside x (max_pool_2x2_image's case).
bool max_pool_is_whole_2x2_stride_2(const Shape& x, const ops::Window2D& w);
// The output rows of image n of a float32 pooling of x (shape x) over such windows, read from
// `image` (image n's H x W x C values, wherever they are): y and argmax are the whole outputs
// (argmax's indices count in x).
void max_pool_2x2_image(const float* image, const Shape& x, const ops::Window2D& w, int64_t n, float* y,
                        int64_t* argmax);

}  // namespace loom::cpu
