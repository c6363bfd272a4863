#pragma once
// Convolutions on cuDNN, when the build found it. Each function computes its result into `out`
// (fresh, contiguous: NHWC for activations, HWIO for the filter gradient) and returns true, or
// returns false without touching `out` when cuDNN does not take the convolution (padding that is
// not symmetric, sizes beyond int, no deterministic algorithm, cuDNN unusable, or
// set_cudnn_enabled(false)); the caller then runs loom's im2col + cuBLAS kernels.
#include "loom/tensor.hpp"
#include "loom/backend/geometry.hpp"

namespace loom::cuda {

#ifdef LOOM_HAVE_CUDNN
bool cudnn_conv2d(const ops::Conv2DGeometry& geo, const Tensor& x, const Tensor& filter, const Tensor& out);
bool cudnn_conv2d_backprop_input(const ops::Conv2DGeometry& geo, const Tensor& dy, const Tensor& filter,
                                 const Tensor& out);
bool cudnn_conv2d_backprop_filter(const ops::Conv2DGeometry& geo, const Tensor& x, const Tensor& dy,
                                  const Tensor& out);
#else
inline bool cudnn_conv2d(const ops::Conv2DGeometry&, const Tensor&, const Tensor&, const Tensor&) { return false; }
inline bool cudnn_conv2d_backprop_input(const ops::Conv2DGeometry&, const Tensor&, const Tensor&, const Tensor&) {
  return false;
}
inline bool cudnn_conv2d_backprop_filter(const ops::Conv2DGeometry&, const Tensor&, const Tensor&, const Tensor&) {
  return false;
}
#endif

}  // namespace loom::cuda
