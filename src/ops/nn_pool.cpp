// 2-D pooling (NHWC). max_pool2d also returns the flat index of each maximum, so its gradient
// is a scatter (max_pool2d_grad) whose own gradient is a gather; avg_pool2d's gradient is its
// adjoint (avg_pool2d_grad), whose gradient is avg_pool2d again.
#include "loom/nn_ops.hpp"
#include "loom/backend/geometry.hpp"
#include "ops/conv_pool.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

ops::Window2D pool_window(const OpCall& call, const Shape& x) { return ops::pool_window_2d(x, call.attrs, call.name()); }

Shape pooled_shape(const Shape& x, const ops::Window2D& w) { return Shape{x[0], w.out_h, w.out_w, x[3]}; }

std::vector<TensorMeta> infer_max_pool(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  const Shape out = pooled_shape(x.shape(), pool_window(call, x.shape()));
  return {TensorMeta{out, x.dtype()}, TensorMeta{out, DType::Int64}};
}

std::vector<TensorMeta> infer_avg_pool(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  return {TensorMeta{pooled_shape(x.shape(), pool_window(call, x.shape())), x.dtype()}};
}

Shape input_shape_attr(const OpCall& call) {
  Shape s(call.attrs.get_ints("input_shape", call.name()));
  if (s.rank() != 4) throw InvalidArgument(ops::op_prefix(call) + "input_shape must have 4 values");
  return s;
}

std::vector<TensorMeta> infer_max_pool_grad(const OpCall& call) {
  if (call.inputs[0].shape() != call.inputs[1].shape()) {
    throw ShapeError(ops::op_prefix(call) + "gradient " + call.inputs[0].shape().str() + " and argmax " +
                     call.inputs[1].shape().str() + " differ");
  }
  return {TensorMeta{input_shape_attr(call), call.inputs[0].dtype()}};
}

std::vector<TensorMeta> infer_avg_pool_grad(const OpCall& call) {
  const Shape in = input_shape_attr(call);
  const Shape want = pooled_shape(in, pool_window(call, in));
  if (call.inputs[0].shape() != want) {
    throw ShapeError(ops::op_prefix(call) + "gradient has shape " + call.inputs[0].shape().str() +
                     ", the pooling output is " + want.str());
  }
  return {TensorMeta{in, call.inputs[0].dtype()}};
}

Attrs with_input_shape(const Attrs& attrs, const Shape& shape) {
  Attrs a = attrs;
  a.set("input_shape", shape.vec());
  return a;
}
Attrs without_input_shape(const Attrs& attrs) {
  Attrs a;
  for (const auto& [k, v] : attrs.items()) {
    if (k != "input_shape") a.set(k, v);
  }
  return a;
}

std::vector<Tensor> grad_max_pool(const GradCall& g) {
  static const OpDef& op = find_op("max_pool2d_grad");
  return {dispatch1(op, {g.grads[0], g.outputs[1]}, Attrs{{"input_shape", g.input_metas[0].shape.vec()}})};
}

// max_pool2d_grad scatters dy to the argmax positions: its gradient gathers from them.
std::vector<Tensor> grad_max_pool_grad(const GradCall& g) {
  const Tensor flat = reshape(g.grads[0], {-1});
  return {reshape(gather(flat, reshape(g.inputs[1], {-1})), g.input_metas[0].shape), Tensor()};
}

// relu(max_pool2d(x)) equals max_pool2d(relu(x)), and so does its gradient: where the window's
// maximum is positive both route dy to it, and where it is not relu's derivative is 0 there.
std::vector<Tensor> forward_relu_max_pool(const OpCall& call) {
  static const OpDef& pool = find_op("max_pool2d");
  std::vector<Tensor> out = dispatch(pool, call.inputs, call.attrs);
  out[0] = relu(out[0]);
  return out;
}
std::vector<Tensor> grad_relu_max_pool(const GradCall& g) {
  static const OpDef& op = find_op("max_pool2d_grad");
  return {dispatch1(op, {ops::relu_grad(g.grads[0], g.outputs[0]), g.outputs[1]},
                    Attrs{{"input_shape", g.input_metas[0].shape.vec()}})};
}

std::vector<Tensor> grad_avg_pool(const GradCall& g) {
  static const OpDef& op = find_op("avg_pool2d_grad");
  return {dispatch1(op, {g.grads[0]}, with_input_shape(g.attrs, g.input_metas[0].shape))};
}

std::vector<Tensor> grad_avg_pool_grad(const GradCall& g) {
  static const OpDef& op = find_op("avg_pool2d");
  return {dispatch1(op, {g.grads[0]}, without_input_shape(g.attrs))};
}

std::vector<Tensor> forward_global_avg_pool(const OpCall& call) {
  const Tensor& x = call.inputs[0];
  if (x.rank() != 4) throw ShapeError(ops::op_prefix(call) + "input must be rank 4 (NHWC), got shape " + x.shape().str());
  return {reduce_mean(x, std::vector<int64_t>{1, 2}, call.attrs.get_bool("keepdims", call.name()))};
}

OpBuilder pool_op(const char* name) {
  OpBuilder b = define_op(name);
  b.dtypes(kFloatTypes | kHalfTypes).attr("window", AttrType::IntList, true).attr("strides", AttrType::IntList)
      .attr("padding", std::string("valid")).attr("explicit_paddings", AttrType::IntList);
  return b;
}

}  // namespace

LOOM_REGISTER_OPS(nn_pool) {
  pool_op("max_pool2d").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).outputs({"y", "argmax"}).infer(infer_max_pool).grad(grad_max_pool).saves(false, true)
      .doc("max over windows (NHWC); output 1 holds the flat input index of each maximum");
  pool_op("relu_max_pool2d").inputs({"x"}).outputs({"y", "argmax"}).forward(forward_relu_max_pool).grad(grad_relu_max_pool)
      .saves(false, true).internal().doc("max_pool2d of relu(x) as relu of max_pool2d(x) (ops/conv_pool.hpp)");
  define_op("max_pool2d_grad").inputs({"dy", "argmax"}).dtypes(kFloatTypes | kHalfTypes).input_dtypes(1, mask_of({DType::Int64})).attr("input_shape", AttrType::IntList, true)
      .infer(infer_max_pool_grad).grad(grad_max_pool_grad).nondiff({1})
      .doc("scatters dy to the argmax positions of max_pool2d: (dy, argmax) -> dx");
  pool_op("avg_pool2d").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).infer(infer_avg_pool).grad(grad_avg_pool).saves(false, false)
      .doc("mean over windows (NHWC), padded positions excluded from the count");
  pool_op("avg_pool2d_grad").inputs({"dy"}).attr("input_shape", AttrType::IntList, true)
      .infer(infer_avg_pool_grad).grad(grad_avg_pool_grad).saves(false, false)
      .doc("gradient of avg_pool2d: spreads dy over each window");
  define_op("global_avg_pool2d").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("keepdims", false).composite(forward_global_avg_pool)
      .doc("mean over height and width (NHWC)");
}

Shape pool2d_output_shape(const Shape& input, const Pool2DOptions& options) {
  const auto w = ops::pool_window_2d(input, ops::pool_attrs(options), "pool2d");
  return Shape{input[0], w.out_h, w.out_w, input[3]};
}

Tensor max_pool2d(const Tensor& x, const Pool2DOptions& options) {
  static const OpDef& op = find_op("max_pool2d");
  return dispatch(op, {x}, ops::pool_attrs(options))[0];
}
namespace ops {
Tensor relu_max_pool2d(const Tensor& x, const Pool2DOptions& pool) {
  static const OpDef& op = find_op("relu_max_pool2d");
  return dispatch(op, {x}, pool_attrs(pool))[0];
}
}  // namespace ops

Tensor avg_pool2d(const Tensor& x, const Pool2DOptions& options) {
  static const OpDef& op = find_op("avg_pool2d");
  return dispatch1(op, {x}, ops::pool_attrs(options));
}
Tensor global_avg_pool2d(const Tensor& x, bool keepdims) {
  static const OpDef& op = find_op("global_avg_pool2d");
  return dispatch1(op, {x}, Attrs{{"keepdims", keepdims}});
}

}  // namespace loom
