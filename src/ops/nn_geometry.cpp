#include "loom/backend/geometry.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "loom/error.hpp"

namespace loom::ops {
namespace {

std::array<int64_t, 2> pair_attr(const Attrs& attrs, const char* name, const char* op) {
  if (!attrs.has(name)) return {1, 1};
  const auto v = attrs.get_ints(name, op);
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) {
    throw InvalidArgument(std::string("[") + op + "] " + name + " needs 1 or 2 values, got " +
                          std::to_string(v.size()));
  }
  return {v[0], v[1]};
}

void output_size(int64_t in, int64_t k, int64_t stride, int64_t dil, const std::string& mode,
                 int64_t& pad_before, int64_t& pad_after, int64_t& out, const char* op,
                 const char* axis) {
  const int64_t ek = (k - 1) * dil + 1;
  if (mode == "same") {
    out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + ek - in, 0);
    pad_before = total / 2;
    pad_after = total - pad_before;
    return;
  }
  const int64_t padded = in + pad_before + pad_after;
  if (padded < ek) {
    throw ShapeError(std::string("[") + op + "] the window (" + std::to_string(ek) + " along " + axis +
                     ") is larger than the " + (mode == "valid" ? "input" : "padded input") + " (" +
                     std::to_string(padded) + ") with " + mode + " padding");
  }
  out = (padded - ek) / stride + 1;
}

// window_2d for an op's operands: a window that does not fit names their full shapes.
Window2D window_of_operands(const std::string& operands, int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w,
                            const Attrs& attrs, const char* op, bool allow_dilation) {
  try {
    return window_2d(in_h, in_w, k_h, k_w, attrs, op, allow_dilation);
  } catch (const ShapeError& e) {
    throw ShapeError(std::string(e.what()) + " (" + operands + ")");
  }
}

}  // namespace

Window2D window_2d(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, const Attrs& attrs,
                   const char* op, bool allow_dilation) {
  Window2D w;
  w.in_h = in_h;
  w.in_w = in_w;
  w.k_h = k_h;
  w.k_w = k_w;
  const auto strides = pair_attr(attrs, "strides", op);
  const auto dil = allow_dilation ? pair_attr(attrs, "dilations", op) : std::array<int64_t, 2>{1, 1};
  w.stride_h = strides[0];
  w.stride_w = strides[1];
  w.dil_h = dil[0];
  w.dil_w = dil[1];
  if (w.stride_h < 1 || w.stride_w < 1) throw InvalidArgument(std::string("[") + op + "] strides must be >= 1");
  if (w.dil_h < 1 || w.dil_w < 1) throw InvalidArgument(std::string("[") + op + "] dilations must be >= 1");
  if (k_h < 1 || k_w < 1) throw InvalidArgument(std::string("[") + op + "] the window must be at least 1x1");
  const std::string mode = attrs.get_string("padding", op);
  if (mode == "explicit") {
    const auto p = attrs.get_ints("explicit_paddings", op);
    if (p.size() != 4 || p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0) {
      throw InvalidArgument(std::string("[") + op + "] explicit_paddings needs 4 values >= 0 (top, bottom, left, right)");
    }
    w.pad_top = p[0];
    w.pad_bottom = p[1];
    w.pad_left = p[2];
    w.pad_right = p[3];
  } else if (mode != "same" && mode != "valid") {
    throw InvalidArgument(std::string("[") + op + "] padding must be \"same\", \"valid\" or \"explicit\", got '" + mode + "'");
  }
  output_size(in_h, k_h, w.stride_h, w.dil_h, mode, w.pad_top, w.pad_bottom, w.out_h, op, "height");
  output_size(in_w, k_w, w.stride_w, w.dil_w, mode, w.pad_left, w.pad_right, w.out_w, op, "width");
  return w;
}

Window2D pool_window_2d(const Shape& x, const Attrs& attrs, const char* op) {
  if (x.rank() != 4) throw ShapeError(std::string("[") + op + "] input must be rank 4 (NHWC), got shape " + x.str());
  const auto window = attrs.get_ints("window", op);
  if (window.size() != 2) throw InvalidArgument(std::string("[") + op + "] window needs 2 values (height, width)");
  Attrs with_strides = attrs;
  if (!with_strides.has("strides")) with_strides.set("strides", window);
  const Window2D w = window_of_operands("input " + x.str() + ", window " + Shape(window).str(), x[1], x[2], window[0],
                                        window[1], with_strides, op, false);
  // A window lying wholly in the padding would have nothing to pool.
  if (std::max(w.pad_top, w.pad_bottom) >= w.k_h || std::max(w.pad_left, w.pad_right) >= w.k_w) {
    throw InvalidArgument(std::string("[") + op + "] padding must be smaller than the window");
  }
  return w;
}

Conv2DGeometry conv2d_geometry(const Shape& x, const Shape& filter, const Attrs& attrs, const char* op) {
  if (x.rank() != 4) {
    throw ShapeError(std::string("[") + op + "] input must be rank 4 (NHWC), got shape " + x.str());
  }
  if (filter.rank() != 4) {
    throw ShapeError(std::string("[") + op + "] filter must be rank 4 (HWIO), got shape " + filter.str());
  }
  Conv2DGeometry g;
  g.n = x[0];
  g.c_in = x[3];
  g.c_out = filter[3];
  g.groups = attrs.get_int("groups", op);
  if (g.groups < 1 || g.c_in % g.groups != 0 || g.c_out % g.groups != 0) {
    throw ShapeError(std::string("[") + op + "] groups (" + std::to_string(g.groups) +
                     ") must divide the input channels (" + std::to_string(g.c_in) + ") and the filter's output channels (" +
                     std::to_string(g.c_out) + ")");
  }
  if (filter[2] * g.groups != g.c_in) {
    throw ShapeError(std::string("[") + op + "] channel mismatch: input " + x.str() + " has " +
                     std::to_string(g.c_in) + " channels, filter " + filter.str() + " expects " +
                     std::to_string(filter[2] * g.groups) + (g.groups > 1 ? " (" + std::to_string(filter[2]) + " x " + std::to_string(g.groups) + " groups)" : ""));
  }
  g.win = window_of_operands("input " + x.str() + ", filter " + filter.str(), x[1], x[2], filter[0], filter[1], attrs,
                             op, true);
  return g;
}
ConvPoolAttrs split_conv_pool_attrs(const Attrs& attrs) {
  constexpr std::string_view prefix = "pool_";
  ConvPoolAttrs out;
  for (const auto& [name, value] : attrs.items()) {
    if (name.starts_with(prefix)) out.pool.set(name.substr(prefix.size()), value);
    else out.conv.set(name, value);
  }
  return out;
}

}  // namespace loom::ops
