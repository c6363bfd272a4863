// Reductions over any set of axes (with keepdims), arg-reductions, mean and norm.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

using ops::reduced_shape;
using ops::reduction_axes;

bool keepdims_of(const Attrs& attrs, const char* op) { return attrs.get_bool("keepdims", op); }

std::vector<TensorMeta> infer_reduce(const OpCall& call, DType out_dtype) {
  const Tensor& x = call.inputs[0];
  const auto axes = reduction_axes(call.attrs, x.rank(), call.name());
  return {TensorMeta{reduced_shape(x.shape(), axes, keepdims_of(call.attrs, call.name())),
                     out_dtype}};
}
std::vector<TensorMeta> infer_reduce_same(const OpCall& call) {
  return infer_reduce(call, call.inputs[0].dtype());
}
std::vector<TensorMeta> infer_reduce_bool(const OpCall& call) {
  return infer_reduce(call, DType::Bool);
}
std::vector<TensorMeta> infer_arg_reduce(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), x.rank(), call.name());
  if (x.shape()[static_cast<size_t>(axis)] == 0) {
    throw InvalidArgument(ops::op_prefix(call) + "cannot reduce an empty axis " +
                          std::to_string(axis) + " of shape " + x.shape().str());
  }
  return {TensorMeta{reduced_shape(x.shape(), {axis}, keepdims_of(call.attrs, call.name())),
                     DType::Int64}};
}

// The output gradient reshaped so that it broadcasts against the input (keepdims layout).
Tensor keep_layout(const GradCall& g, const Tensor& t) {
  if (t.rank() == 0) return t;  // a full reduction's scalar broadcasts as it is (one op less per tape step)
  const TensorMeta& in = g.input_metas[0];
  const auto axes = reduction_axes(g.attrs, in.shape.rank(), g.name());
  Shape kept = reduced_shape(in.shape, axes, /*keepdims=*/true);
  return t.shape() == kept ? t : reshape(t, kept);
}
Attrs keep_attrs(const Attrs& attrs) {
  Attrs out = attrs;
  out.set("keepdims", true);
  return out;
}

std::vector<Tensor> grad_sum(const GradCall& g) {
  return {broadcast_to(keep_layout(g, g.grads[0]), g.input_metas[0].shape)};
}

// Ties share the gradient equally (as TF's reduce_max).
std::vector<Tensor> grad_extremum(const GradCall& g) {
  const Tensor& x = g.inputs[0];
  const Tensor y = keep_layout(g, g.outputs[0]);
  const Tensor indicators = cast(equal(x, y), x.dtype());
  const Tensor count = dispatch1(find_op("reduce_sum"), {indicators}, keep_attrs(g.attrs));
  return {mul(indicators, div(keep_layout(g, g.grads[0]), count))};
}

// d(prod)/dx_i = product of the other elements; exact with zeros in the input too.
std::vector<Tensor> grad_prod(const GradCall& g) {
  const Tensor& x = g.inputs[0];
  const Attrs keep = keep_attrs(g.attrs);
  const Tensor zero = zeros_like(x);
  const Tensor one = ones_like(x);
  const Tensor is_zero = equal(x, zero);
  const Tensor safe_x = where(is_zero, one, x);
  const Tensor zeros_in_group =
      dispatch1(find_op("reduce_sum"), {cast(is_zero, x.dtype())}, keep);
  const Tensor prod_nonzero = dispatch1(find_op("reduce_prod"), {safe_x}, keep);
  const Tensor s0 = scalar_like(0.0, x);
  const Tensor s1 = scalar_like(1.0, x);
  const Tensor others =
      where(is_zero, where(equal(zeros_in_group, s1), broadcast_to(prod_nonzero, x.shape()), zero),
            where(equal(zeros_in_group, s0), div(prod_nonzero, safe_x), zero));
  return {mul(others, keep_layout(g, g.grads[0]))};
}

std::vector<Tensor> forward_mean(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const auto axes = reduction_axes(call.attrs, x.rank(), call.name());
  int64_t count = 1;
  for (int a : axes) count *= x.shape()[static_cast<size_t>(a)];
  const Tensor sum = dispatch1(find_op("reduce_sum"), {x}, call.attrs);
  if (is_integral(x.dtype())) return {floor_div(sum, scalar_like(static_cast<double>(count), sum))};
  return {div(sum, scalar_like(static_cast<double>(count), sum))};
}

std::vector<Tensor> forward_norm(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const std::string ord = call.attrs.get_string("ord", call.name());
  Attrs reduce_attrs;
  if (const AttrValue* axes = call.attrs.find("axes")) reduce_attrs.set("axes", *axes);
  reduce_attrs.set("keepdims", keepdims_of(call.attrs, call.name()));
  if (ord == "euclidean" || ord == "2" || ord == "fro") {
    return {sqrt(dispatch1(find_op("reduce_sum"), {square(x)}, reduce_attrs))};
  }
  if (ord == "1") return {dispatch1(find_op("reduce_sum"), {abs(x)}, reduce_attrs)};
  if (ord == "inf") return {dispatch1(find_op("reduce_max"), {abs(x)}, reduce_attrs)};
  throw InvalidArgument(ops::op_prefix(call) + "unknown ord '" + ord +
                        "' (expected \"euclidean\", \"1\" or \"inf\")");
}

void reduction(const char* name, DTypeMask dtypes, InferFn infer, GradFn grad, bool saves_outputs, const char* doc) {
  define_op(name).inputs({"x"}).dtypes(dtypes).attr("axes", AttrType::IntList).attr("keepdims", false)
      .infer(infer).grad(grad).saves(grad != nullptr && grad != grad_sum, saves_outputs).doc(doc);
}

}  // namespace

LOOM_REGISTER_OPS(reduce) {
  reduction("reduce_sum", kNumeric | kHalfTypes, infer_reduce_same, grad_sum, false, "sum over axes (all if absent)");
  reduction("reduce_prod", kNumeric | kHalfTypes, infer_reduce_same, grad_prod, false,
            "product over axes; the gradient is exact with zeros in the input, its second "
            "derivative only away from zeros");
  reduction("reduce_max", kNumeric | kHalfTypes, infer_reduce_same, grad_extremum, true,
            "maximum over axes; ties share the gradient");
  reduction("reduce_min", kNumeric | kHalfTypes, infer_reduce_same, grad_extremum, true,
            "minimum over axes; ties share the gradient");
  reduction("reduce_all", kBoolType, infer_reduce_bool, nullptr, false, "logical and over axes");
  reduction("reduce_any", kBoolType, infer_reduce_bool, nullptr, false, "logical or over axes");
  for (const char* name : {"argmax", "argmin"}) {
    define_op(name).inputs({"x"}).dtypes(kNumeric | kHalfTypes).attr("axis", int64_t{0}).attr("keepdims", false)
        .infer(infer_arg_reduce).doc("int64 index of the extreme value along axis (first on ties)");
  }
  define_op("reduce_mean").inputs({"x"}).dtypes(kNumeric | kHalfTypes).attr("axes", AttrType::IntList)
      .attr("keepdims", false).composite(forward_mean)
      .doc("mean over axes; integer inputs give the floored integer mean");
  define_op("norm").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("ord", std::string("euclidean"))
      .attr("axes", AttrType::IntList).attr("keepdims", false).composite(forward_norm)
      .doc("vector norm over axes: ord \"euclidean\" (default), \"1\" or \"inf\"");
}

namespace {
Attrs reduce_attrs(const std::optional<std::vector<int64_t>>& axes, bool keepdims) {
  Attrs attrs;
  if (axes) attrs.set("axes", *axes);
  if (keepdims) attrs.set("keepdims", true);
  return attrs;
}
}  // namespace

#define LOOM_REDUCE_API(fn)                                                              \
  Tensor fn(const Tensor& x, std::optional<std::vector<int64_t>> axes, bool keepdims) { \
    static const OpDef& op = find_op(#fn, #fn);                                          \
    return dispatch1(op, {x}, reduce_attrs(axes, keepdims));                             \
  }
LOOM_REDUCE_API(reduce_sum)
LOOM_REDUCE_API(reduce_mean)
LOOM_REDUCE_API(reduce_max)
LOOM_REDUCE_API(reduce_min)
LOOM_REDUCE_API(reduce_prod)
LOOM_REDUCE_API(reduce_all)
LOOM_REDUCE_API(reduce_any)
#undef LOOM_REDUCE_API

Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) {
  static const OpDef& op = find_op("argmax", "argmax");
  return dispatch1(op, {x}, Attrs{{"axis", axis}, {"keepdims", keepdims}});
}
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims) {
  static const OpDef& op = find_op("argmin", "argmin");
  return dispatch1(op, {x}, Attrs{{"axis", axis}, {"keepdims", keepdims}});
}
Tensor norm(const Tensor& x, std::string_view ord, std::optional<std::vector<int64_t>> axes,
            bool keepdims) {
  static const OpDef& op = find_op("norm", "norm");
  Attrs attrs = reduce_attrs(axes, keepdims);
  attrs.set("ord", std::string(ord));
  return dispatch1(op, {x}, attrs);
}

}  // namespace loom
