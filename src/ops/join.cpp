// concat, stack, split, tile and pad.
#include <limits>

#include "ops/op_utils.hpp"

namespace loom {
namespace {

constexpr int64_t kOpenEnd = std::numeric_limits<int64_t>::max();

// Slice attrs selecting [start, start + size) of `axis` in a tensor of rank `rank`.
Attrs axis_range(int rank, int axis, int64_t start, int64_t size) {
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0);
  std::vector<int64_t> end(static_cast<size_t>(rank), kOpenEnd);
  begin[static_cast<size_t>(axis)] = start;
  end[static_cast<size_t>(axis)] = start + size;
  return Attrs{{"begin", begin}, {"end", end}};
}

Tensor slice_view(const Tensor& x, const Attrs& attrs) {
  static const OpDef& op = find_op("slice", "slice");
  return dispatch1(op, {x}, attrs);
}

int concat_axis(const OpCall& call) {
  const Tensor& first = call.inputs[0];
  const int rank = first.rank();
  if (rank == 0) throw ShapeError(ops::op_prefix(call) + "cannot concatenate 0-d tensors");
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), rank, call.name());
  ops::require_same_dtype(call);
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    const Shape& s = call.inputs[i].shape();
    bool ok = s.rank() == rank;
    for (int d = 0; ok && d < rank; ++d) ok = d == axis || s[d] == first.shape()[d];
    if (!ok) {
      throw ShapeError(ops::op_prefix(call) + ops::input_with_shape(call, i) + " does not match " +
                       ops::input_with_shape(call, 0) + " along the axes other than " + std::to_string(axis));
    }
  }
  return axis;
}

std::vector<Tensor> forward_concat(const OpCall& call) {
  const int axis = concat_axis(call);
  Shape shape = call.inputs[0].shape();
  int64_t total = 0;
  for (const Tensor& x : call.inputs) total += x.shape()[static_cast<size_t>(axis)];
  shape[static_cast<size_t>(axis)] = total;
  Tensor out = empty(shape, call.inputs[0].dtype(), call.device, call.name());
  int64_t offset = 0;
  for (const Tensor& x : call.inputs) {
    const int64_t n = x.shape()[static_cast<size_t>(axis)];
    if (n > 0) ops::copy_into(slice_view(out, axis_range(shape.rank(), axis, offset, n)), x);
    offset += n;
  }
  return {out};
}

std::vector<Tensor> grad_concat(const GradCall& g) {
  const int rank = g.grads[0].rank();
  const int axis = normalize_axis(g.attrs.get_int("axis", g.name()), rank, g.name());
  std::vector<Tensor> grads;
  int64_t offset = 0;
  for (size_t i = 0; i < g.input_metas.size(); ++i) {
    const int64_t n = g.input_metas[i].shape[static_cast<size_t>(axis)];
    grads.push_back(g.needs[i] ? slice_view(g.grads[0], axis_range(rank, axis, offset, n))
                               : Tensor());
    offset += n;
  }
  return grads;
}

std::vector<Tensor> forward_stack(const OpCall& call) {
  const int rank = call.inputs[0].rank();
  const int64_t axis = normalize_axis(call.attrs.get_int("axis", call.name()), rank + 1,
                                      call.name());
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    if (call.inputs[i].shape() != call.inputs[0].shape()) {
      throw ShapeError(ops::op_prefix(call) + "all inputs need one shape, got " + ops::input_with_shape(call, 0) +
                       " and " + ops::input_with_shape(call, i));
    }
    expanded.push_back(expand_dims(call.inputs[i], axis));
  }
  return {concat(expanded, axis)};
}

std::vector<Tensor> forward_split(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  if (x.rank() == 0) throw ShapeError(ops::op_prefix(call) + "cannot split a 0-d tensor");
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), x.rank(), call.name());
  const int64_t dim = x.shape()[static_cast<size_t>(axis)];
  std::vector<int64_t> sizes;
  if (call.attrs.has("sizes")) {
    sizes = call.attrs.get_ints("sizes", call.name());
    int64_t known = 0;
    int infer_at = -1;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] == -1 && infer_at < 0) {
        infer_at = static_cast<int>(i);
      } else if (sizes[i] < 0) {
        throw InvalidArgument(ops::op_prefix(call) + "invalid split sizes " + Shape(sizes).str() +
                              " (sizes must be >= 0, with at most one -1)");
      } else {
        known += sizes[i];
      }
    }
    if (infer_at >= 0 && known <= dim) {
      sizes[static_cast<size_t>(infer_at)] = dim - known;
      known = dim;
    }
    if (known != dim) {
      throw ShapeError(ops::op_prefix(call) + "sizes " + Shape(sizes).str() +
                       " do not add up to " + std::to_string(dim) + " (axis " +
                       std::to_string(axis) + " of " + x.shape().str() + ")");
    }
  } else {
    const int64_t num = call.attrs.get_int("num", call.name());
    if (num <= 0 || dim % num != 0) {
      throw ShapeError(ops::op_prefix(call) + "cannot split axis " + std::to_string(axis) +
                       " of size " + std::to_string(dim) + " into " + std::to_string(num) +
                       " equal parts");
    }
    sizes.assign(static_cast<size_t>(num), dim / num);
  }
  std::vector<Tensor> parts;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice_view(x, axis_range(x.rank(), axis, offset, s)));
    offset += s;
  }
  return parts;
}

// tile = broadcast a reshaped [1, d0, 1, d1, ...] view to [m0, d0, m1, d1, ...] and flatten
// pairs; its gradient follows from those ops.
std::vector<Tensor> forward_tile(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const auto multiples = call.attrs.get_ints("multiples", call.name());
  if (static_cast<int>(multiples.size()) != x.rank()) {
    throw InvalidArgument(ops::op_prefix(call) + "multiples has " +
                          std::to_string(multiples.size()) + " entries for shape " +
                          x.shape().str());
  }
  Shape interleaved, broadcast, result;
  for (int i = 0; i < x.rank(); ++i) {
    const int64_t m = multiples[static_cast<size_t>(i)];
    if (m < 0) throw InvalidArgument(ops::op_prefix(call) + "multiples must be >= 0");
    interleaved.push_back(1);
    interleaved.push_back(x.shape()[i]);
    broadcast.push_back(m);
    broadcast.push_back(x.shape()[i]);
    result.push_back(m * x.shape()[i]);
  }
  return {reshape(broadcast_to(reshape(x, interleaved), broadcast), result)};
}

std::vector<std::pair<int64_t, int64_t>> paddings_of(const Attrs& attrs, const Shape& shape,
                                                     const char* op) {
  const auto flat = attrs.get_ints("paddings", op);
  if (flat.size() != 2 * shape.size()) {
    throw InvalidArgument(std::string("[") + op + "] paddings needs " +
                          std::to_string(2 * shape.size()) + " values (before, after per axis of " +
                          shape.str() + "), got " + std::to_string(flat.size()));
  }
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (flat[2 * i] < 0 || flat[2 * i + 1] < 0) {
      throw InvalidArgument(std::string("[") + op + "] paddings must be >= 0");
    }
    out.emplace_back(flat[2 * i], flat[2 * i + 1]);
  }
  return out;
}

Attrs interior(const Shape& shape, const std::vector<std::pair<int64_t, int64_t>>& pads) {
  std::vector<int64_t> begin, end;
  for (size_t i = 0; i < shape.size(); ++i) {
    begin.push_back(pads[i].first);
    end.push_back(pads[i].first + shape[i]);
  }
  return Attrs{{"begin", begin}, {"end", end}};
}

std::vector<Tensor> forward_pad(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const auto pads = paddings_of(call.attrs, x.shape(), call.name());
  Shape shape;
  for (size_t i = 0; i < pads.size(); ++i) shape.push_back(x.shape()[i] + pads[i].first + pads[i].second);
  Tensor out;
  {
    DeviceScope on(call.device);
    out = fill(shape, call.attrs.get_float("value", call.name()), x.dtype());
  }
  if (x.numel() > 0) ops::copy_into(slice_view(out, interior(x.shape(), pads)), x);
  return {out};
}

std::vector<Tensor> grad_pad(const GradCall& g) {
  const Shape& in = g.input_metas[0].shape;
  return {slice_view(g.grads[0], interior(in, paddings_of(g.attrs, in, g.name())))};
}

}  // namespace

LOOM_REGISTER_OPS(join) {
  define_op("concat").variadic_input("values").attr("axis", AttrType::Int, true).forward(forward_concat)
      .grad(grad_concat).saves(false, false).doc("joins tensors along an existing axis");
  define_op("stack").variadic_input("values").attr("axis", int64_t{0}).composite(forward_stack)
      .doc("joins equal-shaped tensors along a new axis");
  define_op("split").inputs({"x"}).variadic_outputs("parts").attr("num", AttrType::Int)
      .attr("sizes", AttrType::IntList).attr("axis", int64_t{0}).composite(forward_split)
      .doc("splits into `num` equal parts or parts of `sizes` (one may be -1) along axis");
  define_op("tile").inputs({"x"}).attr("multiples", AttrType::IntList, true).composite(forward_tile)
      .doc("repeats the tensor multiples[i] times along axis i");
  define_op("pad").inputs({"x"}).attr("paddings", AttrType::IntList, true)
      .attr("value", 0.0).forward(forward_pad).grad(grad_pad).saves(false, false)
      .doc("constant padding; paddings = [before0, after0, before1, after1, ...]");
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  static const OpDef& op = find_op("concat", "concat");
  return dispatch1(op, xs, Attrs{{"axis", axis}});
}
Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  static const OpDef& op = find_op("stack", "stack");
  return dispatch1(op, xs, Attrs{{"axis", axis}});
}
std::vector<Tensor> split(const Tensor& x, int64_t num, int64_t axis) {
  static const OpDef& op = find_op("split", "split");
  return dispatch(op, {x}, Attrs{{"num", num}, {"axis", axis}});
}
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  static const OpDef& op = find_op("split", "split");
  return dispatch(op, {x}, Attrs{{"sizes", sizes}, {"axis", axis}});
}
Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples) {
  static const OpDef& op = find_op("tile", "tile");
  return dispatch1(op, {x}, Attrs{{"multiples", multiples}});
}
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings, double value) {
  static const OpDef& op = find_op("pad", "pad");
  std::vector<int64_t> flat;
  for (const auto& [before, after] : paddings) {
    flat.push_back(before);
    flat.push_back(after);
  }
  return dispatch1(op, {x}, Attrs{{"paddings", flat}, {"value", value}});
}

}  // namespace loom
