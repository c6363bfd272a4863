// View ops: reshape, transpose, expand_dims, squeeze, broadcast_to, slice. They share storage
// with their input where strides allow and are recorded by tapes like any op.
#include <algorithm>
#include <limits>

#include "ops/op_utils.hpp"

namespace loom {
namespace {

std::string prefix(const OpCall& c) { return ops::op_prefix(c); }

Shape resolve_reshape(const OpCall& call, const Shape& in, std::vector<int64_t> want) {
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == -1) {
      if (infer_at >= 0) throw ShapeError(prefix(call) + "only one dimension may be -1");
      infer_at = static_cast<int>(i);
    } else if (want[i] < 0) {
      throw ShapeError(prefix(call) + "invalid dimension " + std::to_string(want[i]));
    } else if (__builtin_mul_overflow(known, want[i], &known)) {
      throw ShapeError(prefix(call) + "cannot reshape " + in.str() + " into " + Shape(want).str() +
                       ": its element count exceeds a 64-bit count");
    }
  }
  const int64_t total = in.numel();
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) {
      throw ShapeError(prefix(call) + "cannot reshape " + in.str() + " (" + std::to_string(total) +
                       " elements) into " + Shape(want).str());
    }
    want[static_cast<size_t>(infer_at)] = total / known;
  } else if (known != total) {
    throw ShapeError(prefix(call) + "cannot reshape " + in.str() + " (" + std::to_string(total) +
                     " elements) into " + Shape(want).str() + " (" + std::to_string(known) +
                     " elements)");
  }
  return Shape(want);
}

std::vector<Tensor> forward_reshape(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  Shape shape = resolve_reshape(call, x.shape(), call.attrs.get_ints("shape", call.name()));
  const Tensor base = x.is_contiguous() ? x : identity(x);
  return {make_view(base, shape, contiguous_strides(shape), base.offset(), call.name())};
}

std::vector<Tensor> grad_to_input_shape(const GradCall& g) {
  return {reshape(g.grads[0], g.input_metas[0].shape)};
}

std::vector<int64_t> resolve_perm(const OpCall& call, int rank) {
  std::vector<int64_t> perm;
  if (call.attrs.has("perm")) perm = call.attrs.get_ints("perm", call.name());
  if (perm.empty()) {
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int>(perm.size()) != rank) {
    throw InvalidArgument(prefix(call) + "perm has " + std::to_string(perm.size()) +
                          " entries for rank " + std::to_string(rank));
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t& p : perm) {
    p = normalize_axis(p, rank, call.name());
    if (seen[static_cast<size_t>(p)]) {
      throw InvalidArgument(prefix(call) + "perm " + Shape(perm).str() + " is not a permutation");
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

std::vector<Tensor> forward_transpose(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const auto perm = resolve_perm(call, x.rank());
  Shape shape, strides;
  for (int64_t p : perm) {
    shape.push_back(x.shape()[static_cast<size_t>(p)]);
    strides.push_back(x.strides()[static_cast<size_t>(p)]);
  }
  return {make_view(x, shape, strides, x.offset(), call.name())};
}

std::vector<Tensor> grad_transpose(const GradCall& g) {
  const int rank = g.input_metas[0].shape.rank();
  std::vector<int64_t> perm;
  if (g.attrs.has("perm")) perm = g.attrs.get_ints("perm", g.name());
  if (perm.empty()) {
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    inverse[static_cast<size_t>(normalize_axis(perm[i], rank, g.name()))] = static_cast<int64_t>(i);
  }
  return {transpose(g.grads[0], inverse)};
}

std::vector<Tensor> forward_expand_dims(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), x.rank() + 1, call.name());
  Shape shape = x.shape(), strides = x.strides();
  const size_t a = static_cast<size_t>(axis);
  shape.insert(a, 1);
  strides.insert(a, a < x.strides().size() ? x.strides()[a] * x.shape()[a] : 1);
  return {make_view(x, shape, strides, x.offset(), call.name())};
}

std::vector<Tensor> forward_squeeze(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  std::vector<int64_t> axes;
  if (call.attrs.has("axes")) axes = call.attrs.get_ints("axes", call.name());
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (axes.empty()) {
    for (int i = 0; i < x.rank(); ++i) drop[static_cast<size_t>(i)] = x.shape()[i] == 1;
  }
  for (int64_t a : axes) {
    const int axis = normalize_axis(a, x.rank(), call.name());
    if (x.shape()[static_cast<size_t>(axis)] != 1) {
      throw ShapeError(prefix(call) + "cannot squeeze axis " + std::to_string(a) + " of shape " +
                       x.shape().str() + ": its size is not 1");
    }
    drop[static_cast<size_t>(axis)] = true;
  }
  Shape shape, strides;
  for (int i = 0; i < x.rank(); ++i) {
    if (drop[static_cast<size_t>(i)]) continue;
    shape.push_back(x.shape()[i]);
    strides.push_back(x.strides()[i]);
  }
  return {make_view(x, shape, strides, x.offset(), call.name())};
}

std::vector<Tensor> forward_broadcast_to(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const Shape target(call.attrs.get_ints("shape", call.name()));
  if (target.rank() < x.rank() || broadcast_shapes(x.shape(), target, call.name()) != target) {
    throw ShapeError(prefix(call) + "cannot broadcast " + x.shape().str() + " to " + target.str());
  }
  Shape strides = Shape::filled(target.size(), 0);
  const int lead = target.rank() - x.rank();
  for (int i = 0; i < x.rank(); ++i) {
    if (x.shape()[i] != 1) strides[static_cast<size_t>(i + lead)] = x.strides()[i];
  }
  return {make_view(x, target, strides, x.offset(), call.name())};
}

std::vector<Tensor> grad_broadcast_to(const GradCall& g) {
  return {ops::sum_to(g.grads[0], g.input_metas[0].shape)};
}

// Per-axis [start, step, count] of a Python-style slice, with out-of-range bounds clamped.
struct AxisSlice {
  int64_t start, step, count;
};

std::vector<AxisSlice> resolve_slice(const Attrs& attrs, const Shape& shape, const char* op) {
  const auto begin = attrs.get_ints("begin", op);
  const auto end = attrs.get_ints("end", op);
  std::vector<int64_t> step(begin.size(), 1);
  if (attrs.has("step")) step = attrs.get_ints("step", op);
  const size_t rank = shape.size();
  if (begin.size() != rank || end.size() != rank || step.size() != rank) {
    throw InvalidArgument(std::string("[") + op + "] begin, end and step need " +
                          std::to_string(rank) + " entries (one per axis of " + shape.str() +
                          "), got " + std::to_string(begin.size()) + ", " +
                          std::to_string(end.size()) + " and " + std::to_string(step.size()));
  }
  std::vector<bool> shrink(rank, false);
  if (attrs.has("shrink_axes")) {
    for (int64_t a : attrs.get_ints("shrink_axes", op)) {
      shrink[static_cast<size_t>(normalize_axis(a, static_cast<int>(rank), op))] = true;
    }
  }
  std::vector<AxisSlice> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t dim = shape[i];
    if (shrink[i]) {  // an integer index: must be in range (as Python)
      if (begin[i] < -dim || begin[i] >= dim) {
        throw InvalidArgument(std::string("[") + op + "] index " + std::to_string(begin[i]) +
                              " is out of range for axis " + std::to_string(i) + " with size " +
                              std::to_string(dim));
      }
      out[i] = {begin[i] < 0 ? begin[i] + dim : begin[i], 1, 1};
      continue;
    }
    const int64_t st = step[i];
    if (st == 0) throw InvalidArgument(std::string("[") + op + "] slice step cannot be 0");
    const int64_t lower = st > 0 ? 0 : -1;
    const int64_t upper = st > 0 ? dim : dim - 1;
    auto clamp = [&](int64_t v) {
      if (v < 0) v = v < std::numeric_limits<int64_t>::min() + dim ? lower : v + dim;
      return std::clamp(v, lower, upper);
    };
    const int64_t s = clamp(begin[i]);
    const int64_t e = clamp(end[i]);
    const int64_t count = st > 0 ? (e > s ? (e - s + st - 1) / st : 0)
                                 : (s > e ? (s - e + (-st) - 1) / (-st) : 0);
    out[i] = {s, st, count};
  }
  return out;
}

std::vector<bool> shrink_mask(const Attrs& attrs, int rank, const char* op) {
  std::vector<bool> shrink(static_cast<size_t>(rank), false);
  if (attrs.has("shrink_axes")) {
    for (int64_t a : attrs.get_ints("shrink_axes", op)) {
      shrink[static_cast<size_t>(normalize_axis(a, rank, op))] = true;
    }
  }
  return shrink;
}

// The view a slice selects in `x` (without removing the shrunk axes).
Tensor sliced_view(const Tensor& x, const Attrs& attrs, const char* op) {
  const auto axes = resolve_slice(attrs, x.shape(), op);
  Shape shape, strides;
  int64_t offset = x.offset();
  for (size_t i = 0; i < axes.size(); ++i) {
    offset += axes[i].count > 0 ? axes[i].start * x.strides()[i] : 0;
    shape.push_back(axes[i].count);
    strides.push_back(x.strides()[i] * axes[i].step);
  }
  return make_view(x, shape, strides, offset, op);
}

Tensor drop_shrunk(const Tensor& view, const Attrs& attrs, const char* op) {
  const auto shrink = shrink_mask(attrs, view.rank(), op);
  Shape shape, strides;
  for (int i = 0; i < view.rank(); ++i) {
    if (shrink[static_cast<size_t>(i)]) continue;
    shape.push_back(view.shape()[i]);
    strides.push_back(view.strides()[i]);
  }
  return make_view(view, shape, strides, view.offset(), op);
}

std::vector<Tensor> forward_slice(const OpCall& call) {
  return {drop_shrunk(sliced_view(call.inputs[0], call.attrs, call.name()), call.attrs, call.name())};
}

Attrs slice_grad_attrs(const GradCall& g) {
  Attrs attrs = g.attrs;
  attrs.set("shape", g.input_metas[0].shape.vec());
  return attrs;
}

std::vector<Tensor> grad_slice(const GradCall& g) {
  return {dispatch1(find_op("slice_grad"), {g.grads[0]}, slice_grad_attrs(g))};
}

// Zeros of the sliced input's shape with `grad` written into the sliced region.
std::vector<Tensor> forward_slice_grad(const OpCall& call) {
  const Tensor& grad = call.inputs[0];
  const Shape shape(call.attrs.get_ints("shape", call.name()));
  Tensor out;
  {
    DeviceScope on(call.device);
    out = zeros(shape, grad.dtype());
  }
  Tensor region = sliced_view(out, call.attrs, call.name());
  Tensor target = drop_shrunk(region, call.attrs, call.name());
  if (target.shape() != grad.shape()) {
    throw ShapeError(prefix(call) + "gradient of shape " + grad.shape().str() +
                     " does not match the slice's shape " + target.shape().str());
  }
  ops::copy_into(target, grad);
  return {out};
}

std::vector<Tensor> grad_slice_grad(const GradCall& g) {
  Attrs slice_attrs;
  for (const auto& [name, value] : g.attrs.items()) {
    if (name != "shape") slice_attrs.set(name, value);
  }
  return {dispatch1(find_op("slice"), {g.grads[0]}, slice_attrs)};
}

}  // namespace

LOOM_REGISTER_OPS(views) {
  define_op("reshape").inputs({"x"}).attr("shape", AttrType::IntList, true).forward(forward_reshape)
      .grad(grad_to_input_shape).saves(false, false)
      .doc("same values in a new shape; one dimension may be -1 (inferred)");
  define_op("transpose").inputs({"x"}).attr("perm", AttrType::IntList).forward(forward_transpose)
      .grad(grad_transpose).saves(false, false)
      .doc("permutes axes (default: reverses them); a view");
  define_op("expand_dims").inputs({"x"}).attr("axis", AttrType::Int, true)
      .forward(forward_expand_dims).grad(grad_to_input_shape).saves(false, false)
      .doc("inserts a size-1 axis at axis (negative counts from the end)");
  define_op("squeeze").inputs({"x"}).attr("axes", AttrType::IntList).forward(forward_squeeze)
      .grad(grad_to_input_shape).saves(false, false)
      .doc("removes size-1 axes (all of them when axes is absent)");
  define_op("broadcast_to").inputs({"x"}).attr("shape", AttrType::IntList, true)
      .forward(forward_broadcast_to).grad(grad_broadcast_to).saves(false, false)
      .doc("a broadcast view (stride 0 on repeated axes)");
  define_op("slice").inputs({"x"}).attr("begin", AttrType::IntList, true)
      .attr("end", AttrType::IntList, true).attr("step", AttrType::IntList)
      .attr("shrink_axes", AttrType::IntList).forward(forward_slice).grad(grad_slice)
      .saves(false, false)
      .doc("Python-style begin:end:step per axis (clamped; INT64_MIN/MAX stand for an open "
           "bound); shrink_axes are integer indices that remove their axis");
  define_op("slice_grad").inputs({"gradient"}).attr("shape", AttrType::IntList, true)
      .attr("begin", AttrType::IntList, true).attr("end", AttrType::IntList, true)
      .attr("step", AttrType::IntList).attr("shrink_axes", AttrType::IntList)
      .forward(forward_slice_grad).grad(grad_slice_grad).saves(false, false)
      .doc("zeros of `shape` with the input written into the slice (gradient of slice)");
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  static const OpDef& op = find_op("reshape", "reshape");
  if (x.defined() && x.shape() == shape && x.is_contiguous()) return x;
  return dispatch1(op, {x}, Attrs{{"shape", shape.vec()}});
}
Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  static const OpDef& op = find_op("transpose", "transpose");
  return dispatch1(op, {x}, perm.empty() ? Attrs{} : Attrs{{"perm", perm}});
}
Tensor expand_dims(const Tensor& x, int64_t axis) {
  static const OpDef& op = find_op("expand_dims", "expand_dims");
  return dispatch1(op, {x}, Attrs{{"axis", axis}});
}
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  static const OpDef& op = find_op("squeeze", "squeeze");
  return dispatch1(op, {x}, axes.empty() ? Attrs{} : Attrs{{"axes", axes}});
}
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  static const OpDef& op = find_op("broadcast_to", "broadcast_to");
  if (x.defined() && x.shape() == shape) return x;
  return dispatch1(op, {x}, Attrs{{"shape", shape.vec()}});
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  static const OpDef& op = find_op("slice", "index");
  const int rank = this->rank();
  int consumed = 0;
  bool has_ellipsis = false;
  for (const TensorIndex& ix : indices) {
    if (ix.kind == TensorIndex::Kind::Ellipsis) {
      if (has_ellipsis) throw InvalidArgument("[index] only one Ellipsis is allowed");
      has_ellipsis = true;
    } else if (ix.kind != TensorIndex::Kind::NewAxis) {
      ++consumed;
    }
  }
  if (consumed > rank) {
    throw InvalidArgument("[index] too many indices (" + std::to_string(consumed) +
                          ") for a tensor of shape " + shape().str());
  }
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> begin, end, step, shrink;
  std::vector<size_t> new_axes;  // output positions of NewAxis entries
  size_t out_axis = 0;
  auto full_axis = [&] {
    begin.push_back(kMin);
    end.push_back(kMax);
    step.push_back(1);
    ++out_axis;
  };
  for (const TensorIndex& ix : indices) {
    switch (ix.kind) {
      case TensorIndex::Kind::Integer:
        shrink.push_back(static_cast<int64_t>(begin.size()));
        begin.push_back(ix.integer);
        end.push_back(ix.integer + 1);
        step.push_back(1);
        break;
      case TensorIndex::Kind::Slice: {
        const int64_t st = ix.slice.step;
        begin.push_back(ix.slice.start.value_or(st > 0 ? kMin : kMax));
        end.push_back(ix.slice.stop.value_or(st > 0 ? kMax : kMin));
        step.push_back(st);
        ++out_axis;
        break;
      }
      case TensorIndex::Kind::NewAxis:
        new_axes.push_back(out_axis++);
        break;
      case TensorIndex::Kind::Ellipsis:
        for (int i = 0; i < rank - consumed; ++i) full_axis();
        break;
    }
  }
  while (static_cast<int>(begin.size()) < rank) full_axis();
  Attrs attrs{{"begin", begin}, {"end", end}, {"step", step}};
  if (!shrink.empty()) attrs.set("shrink_axes", shrink);
  Tensor out = dispatch1(op, {*this}, attrs);
  for (size_t pos : new_axes) out = loom::expand_dims(out, static_cast<int64_t>(pos));
  return out;
}

}  // namespace loom
