#pragma once
// Output sizes and paddings of 2-D window ops (conv, pooling), TF rules, shared by inference
// and every backend's kernels.
#include <array>
#include <cstdint>
#include <string>

#include "loom/attrs.hpp"
#include "loom/nn_ops.hpp"
#include "loom/shape.hpp"

namespace loom::ops {

struct Window2D {
  int64_t in_h = 0, in_w = 0, k_h = 1, k_w = 1;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t out_h = 0, out_w = 0;
};

// Reads strides/dilations/padding/explicit_paddings attributes and computes the output size;
// `op` names the op in errors (bad attributes, window larger than a valid-padded input).
LOOM_API Window2D window_2d(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, const Attrs& attrs,
                   const char* op, bool allow_dilation);

struct Conv2DGeometry {
  int64_t n = 0, c_in = 0, c_out = 0, groups = 1;
  Window2D win;
};

// Checks x (NHWC), filter (HWIO with I = C_in / groups) and returns the geometry.
LOOM_API Conv2DGeometry conv2d_geometry(const Shape& x, const Shape& filter, const Attrs& attrs, const char* op);

// The padding / explicit_paddings attributes for a Padding of the C++ API.
LOOM_API Attrs padding_attrs(const Padding& padding);

}  // namespace loom::ops
