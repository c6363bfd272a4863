#pragma once
/// \file
/// The geometry of 2-D window ops (convolutions and pooling, NHWC): output sizes and paddings by
/// TensorFlow's rules, computed once from the op's attributes and shared by shape inference and
/// every backend's kernels, so that no backend computes them differently.
#include <cstdint>

#include "loom/attrs.hpp"
#include "loom/backend/api.hpp"
#include "loom/shape.hpp"

namespace loom::ops {

/// One window op's sizes along height and width.
struct Window2D {
  int64_t in_h = 0;        ///< Input height.
  int64_t in_w = 0;        ///< Input width.
  int64_t k_h = 1;         ///< Window (kernel) height.
  int64_t k_w = 1;         ///< Window (kernel) width.
  int64_t stride_h = 1;    ///< Vertical stride.
  int64_t stride_w = 1;    ///< Horizontal stride.
  int64_t dil_h = 1;       ///< Vertical dilation.
  int64_t dil_w = 1;       ///< Horizontal dilation.
  int64_t pad_top = 0;     ///< Rows of padding above.
  int64_t pad_bottom = 0;  ///< Rows of padding below.
  int64_t pad_left = 0;    ///< Columns of padding on the left.
  int64_t pad_right = 0;   ///< Columns of padding on the right.
  int64_t out_h = 0;       ///< Output height.
  int64_t out_w = 0;       ///< Output width.
};

/// Reads the strides, dilations, padding and explicit_paddings attributes and computes the
/// output size of a k_h x k_w window over an in_h x in_w input; `op` names the op in errors (bad
/// attributes, a window larger than a valid-padded input).
LOOM_BACKEND_API Window2D window_2d(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, const Attrs& attrs,
                                    const char* op, bool allow_dilation);

/// The window of a pooling op over x (NHWC) from its "window", "strides" (default: the window)
/// and padding attributes; ShapeError or InvalidArgument naming `op` for a rank other than 4, a
/// bad window or padding as large as the window.
LOOM_BACKEND_API Window2D pool_window_2d(const Shape& x, const Attrs& attrs, const char* op);

/// A convolution's sizes: input (n, in_h, in_w, c_in) NHWC, filter (k_h, k_w, c_in / groups,
/// c_out) HWIO, output (n, out_h, out_w, c_out). The index helpers give the offsets of dense
/// row-major tensors of those shapes.
struct Conv2DGeometry {
  int64_t n = 0;       ///< Batch size.
  int64_t c_in = 0;    ///< Input channels.
  int64_t c_out = 0;   ///< Output channels.
  int64_t groups = 1;  ///< Channel groups (c_in and c_out are multiples of it).
  Window2D win;        ///< Heights, widths, strides, dilations and paddings.

  /// Input channels of one group.
  LOOM_HD int64_t group_in() const { return c_in / groups; }
  /// Output channels of one group.
  LOOM_HD int64_t group_out() const { return c_out / groups; }
  /// Offset of x[b, h, w, c].
  LOOM_HD int64_t x_at(int64_t b, int64_t h, int64_t w, int64_t c) const { return ((b * win.in_h + h) * win.in_w + w) * c_in + c; }
  /// Offset of y[b, h, w, o].
  LOOM_HD int64_t y_at(int64_t b, int64_t h, int64_t w, int64_t o) const {
    return ((b * win.out_h + h) * win.out_w + w) * c_out + o;
  }
  /// Offset of filter[kh, kw, i, o] (i within the group).
  LOOM_HD int64_t f_at(int64_t kh, int64_t kw, int64_t i, int64_t o) const {
    return ((kh * win.k_w + kw) * group_in() + i) * c_out + o;
  }
};

/// Checks x (NHWC) against filter (HWIO with I = C_in / groups) and returns the geometry;
/// ShapeError or InvalidArgument naming `op` and both shapes otherwise.
LOOM_BACKEND_API Conv2DGeometry conv2d_geometry(const Shape& x, const Shape& filter, const Attrs& attrs,
                                                const char* op);

/// The attributes of conv2d_relu_max_pool2d (loom's fusion of a convolution ending in relu with
/// the max pooling after it): conv2d's (without its activation, relu), and max_pool2d's with the
/// prefix "pool_", split into the two ops' own.
struct ConvPoolAttrs {
  Attrs conv;  ///< conv2d's attributes
  Attrs pool;  ///< max_pool2d's attributes
};
/// Splits conv2d_relu_max_pool2d's attributes into conv2d's and max_pool2d's.
LOOM_BACKEND_API ConvPoolAttrs split_conv_pool_attrs(const Attrs& attrs);

}  // namespace loom::ops
