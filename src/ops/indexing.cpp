// gather (and its gradient scatter_add) and one_hot.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

constexpr DTypeMask kIndexTypes = mask_of({DType::Int32, DType::Int64});

std::vector<TensorMeta> infer_gather(const OpCall& call) {
  const Tensor& params = call.inputs[0];
  const Tensor& indices = call.inputs[1];
  if (params.rank() == 0) throw ShapeError(ops::op_prefix(call) + "params must have rank >= 1");
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), params.rank(), call.name());
  Shape out;
  for (int i = 0; i < axis; ++i) out.push_back(params.shape()[i]);
  for (int64_t d : indices.shape()) out.push_back(d);
  for (int i = axis + 1; i < params.rank(); ++i) out.push_back(params.shape()[i]);
  return {TensorMeta{out, params.dtype()}};
}

std::vector<TensorMeta> infer_scatter_add(const OpCall& call) {
  const Tensor& updates = call.inputs[0];
  const Tensor& indices = call.inputs[1];
  const int64_t dim = call.attrs.get_int("dim_size", call.name());
  const int64_t axis = call.attrs.get_int("axis", call.name());
  const int irank = indices.rank();
  bool ok = dim >= 0 && axis >= 0 && axis + irank <= updates.rank();
  for (int i = 0; ok && i < irank; ++i) ok = updates.shape()[static_cast<size_t>(axis + i)] == indices.shape()[i];
  if (!ok) {
    throw ShapeError(ops::op_prefix(call) + "updates " + updates.shape().str() +
                     " do not match indices " + indices.shape().str() + " at axis " +
                     std::to_string(axis) + " (dim_size " + std::to_string(dim) + ")");
  }
  Shape out;
  for (int64_t i = 0; i < axis; ++i) out.push_back(updates.shape()[static_cast<size_t>(i)]);
  out.push_back(dim);
  for (int i = static_cast<int>(axis) + irank; i < updates.rank(); ++i) out.push_back(updates.shape()[i]);
  return {TensorMeta{out, updates.dtype()}};
}

int gather_axis(const GradCall& g) {
  return normalize_axis(g.attrs.get_int("axis", g.name()), g.input_metas[0].shape.rank(), g.name());
}

std::vector<Tensor> grad_gather(const GradCall& g) {
  static const OpDef& scatter = find_op("scatter_add", "gather");
  const int axis = gather_axis(g);
  const int64_t dim = g.input_metas[0].shape[static_cast<size_t>(axis)];
  return {dispatch1(scatter, {g.grads[0], g.inputs[1]},
                    Attrs{{"axis", static_cast<int64_t>(axis)}, {"dim_size", dim}}),
          Tensor()};
}

std::vector<Tensor> grad_scatter_add(const GradCall& g) {
  const int64_t axis = g.attrs.get_int("axis", g.name());
  return {gather(g.grads[0], g.inputs[1], axis), Tensor()};
}

// one_hot = (indices[..., None] == range(depth)) mapped to on/off values; indices outside
// [0, depth) give an all-off row (as TF).
std::vector<Tensor> forward_one_hot(const OpCall& call) {
  const Tensor& indices = call.inputs[0];
  const int64_t depth = call.attrs.get_int("depth", call.name());
  if (depth < 0) throw InvalidArgument(ops::op_prefix(call) + "depth must be >= 0");
  const DType dtype = call.attrs.get_dtype("dtype", call.name());
  const double on = call.attrs.get_float("on_value", call.name());
  const double off = call.attrs.get_float("off_value", call.name());
  Tensor positions;
  {
    DeviceScope here(call.device);
    positions = cast(range(depth), indices.dtype());
  }
  const Tensor hit = equal(expand_dims(indices, -1), positions);
  Tensor on_t, off_t;
  {
    DeviceScope here(call.device);
    on_t = fill({}, on, dtype);
    off_t = fill({}, off, dtype);
  }
  return {where(hit, on_t, off_t)};
}

}  // namespace

LOOM_REGISTER_OPS(indexing) {
  define_op("gather").inputs({"params", "indices"}).input_dtypes(1, kIndexTypes).attr("axis", int64_t{0}).infer(infer_gather).grad(grad_gather)
      .nondiff({1}).saves(true, false)
      .doc("params[..., indices, ...] along axis; indices out of range are an error");
  define_op("scatter_add").inputs({"updates", "indices"}).dtypes(kNumeric).input_dtypes(1, kIndexTypes)
      .attr("axis", int64_t{0})
      .attr("dim_size", AttrType::Int, true).infer(infer_scatter_add).grad(grad_scatter_add)
      .nondiff({1}).doc("zeros with dim_size entries along axis, updates added at indices");
  define_op("one_hot").inputs({"indices"}).dtypes(kIntTypes).attr("depth", AttrType::Int, true)
      .attr("on_value", 1.0).attr("off_value", 0.0).attr("dtype", DType::Float32).composite(forward_one_hot)
      .no_gradient().doc("one-hot encoding along a new last axis");
}

Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis) {
  static const OpDef& op = find_op("gather", "gather");
  return dispatch1(op, {params, indices}, Attrs{{"axis", axis}});
}

Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value, DType dtype) {
  static const OpDef& op = find_op("one_hot", "one_hot");
  return dispatch1(op, {indices},
                   Attrs{{"depth", depth}, {"on_value", on_value}, {"off_value", off_value},
                         {"dtype", dtype}});
}

}  // namespace loom
