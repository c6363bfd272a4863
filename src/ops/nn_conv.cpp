// conv2d and its two backward ops. Each backward op is differentiable with the others, so
// second-order gradients of convolutions work (as TF's Conv2DBackpropInput/Filter).
#include "loom/nn_ops.hpp"
#include "ops/conv_pool.hpp"
#include "ops/fused_activation.hpp"
#include "loom/backend/geometry.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

void check_dy(const OpCall& call, const Tensor& dy, const ops::Conv2DGeometry& g) {
  const Shape want{g.n, g.win.out_h, g.win.out_w, g.c_out};
  if (dy.shape() != want) {
    throw ShapeError(ops::op_prefix(call) + "output gradient has shape " + dy.shape().str() +
                     ", the convolution's output is " + want.str());
  }
}

Shape shape_attr(const OpCall& call, const char* name) {
  Shape s(call.attrs.get_ints(name, call.name()));
  if (s.rank() != 4) throw InvalidArgument(ops::op_prefix(call) + name + " must have 4 values");
  return s;
}

void check_bias(const OpCall& call, const ops::Conv2DGeometry& g) {
  if (call.inputs.size() == 3 && call.inputs[2].shape() != Shape{g.c_out}) {
    throw ShapeError(ops::op_prefix(call) + "bias must have shape (" + std::to_string(g.c_out) + ",), got " +
                     call.inputs[2].shape().str());
  }
}

std::vector<TensorMeta> infer_conv2d(const OpCall& call) {
  ops::require_same_dtype(call);
  ops::fused_activation(call);
  const Tensor& x = call.inputs[0];
  const auto g = ops::conv2d_geometry(x.shape(), call.inputs[1].shape(), call.attrs, call.name());
  check_bias(call, g);
  return {TensorMeta{Shape{g.n, g.win.out_h, g.win.out_w, g.c_out}, x.dtype()}};
}

std::vector<TensorMeta> infer_backprop_input(const OpCall& call) {
  ops::require_same_dtype(call);
  const Shape in = shape_attr(call, "input_shape");
  check_dy(call, call.inputs[0], ops::conv2d_geometry(in, call.inputs[1].shape(), call.attrs, call.name()));
  return {TensorMeta{in, call.inputs[0].dtype()}};
}

std::vector<TensorMeta> infer_backprop_filter(const OpCall& call) {
  ops::require_same_dtype(call);
  const Shape filter = shape_attr(call, "filter_shape");
  check_dy(call, call.inputs[1], ops::conv2d_geometry(call.inputs[0].shape(), filter, call.attrs, call.name()));
  return {TensorMeta{filter, call.inputs[0].dtype()}};
}

// The convolution attributes of a call, without the backward ops' shape attributes and without
// conv2d's activation (the gradients are of the linear convolution).
Attrs conv_attrs(const Attrs& attrs) {
  Attrs out;
  for (const auto& [name, value] : attrs.items()) {
    if (name != "input_shape" && name != "filter_shape" && name != "activation") out.set(name, value);
  }
  return out;
}

Tensor backprop_input(const Tensor& dy, const Tensor& filter, const Shape& input_shape, const Attrs& attrs) {
  static const OpDef& op = find_op("conv2d_backprop_input");
  Attrs a = conv_attrs(attrs);
  a.set("input_shape", input_shape.vec());
  return dispatch1(op, {dy, filter}, a);
}

Tensor backprop_filter(const Tensor& x, const Tensor& dy, const Shape& filter_shape, const Attrs& attrs) {
  static const OpDef& op = find_op("conv2d_backprop_filter");
  Attrs a = conv_attrs(attrs);
  a.set("filter_shape", filter_shape.vec());
  return dispatch1(op, {x, dy}, a);
}

Tensor conv_no_bias(const Tensor& x, const Tensor& filter, const Attrs& attrs) {
  static const OpDef& op = find_op("conv2d");
  return dispatch1(op, {x, filter}, conv_attrs(attrs));
}

std::vector<Tensor> grad_conv2d(const GradCall& g) {
  const Tensor& x = g.inputs[0];
  const Tensor& f = g.inputs[1];
  const bool bias_grad = g.inputs.size() == 3 && g.needs[2];
  auto [dy, dbias] = ops::pre_activation_grads(g.grads[0], g.outputs[0], g.attrs.get_string("activation", g.name()), bias_grad);
  std::vector<Tensor> out(g.inputs.size());
  if (g.needs[0]) out[0] = backprop_input(dy, f, x.shape(), g.attrs);
  if (g.needs[1]) out[1] = backprop_filter(x, dy, f.shape(), g.attrs);
  if (bias_grad) out[2] = dbias;
  return out;
}

// dx = backprop_input(dy, f) is linear in dy and in f.
std::vector<Tensor> grad_backprop_input(const GradCall& g) {
  const Tensor& dy = g.inputs[0];
  const Tensor& f = g.inputs[1];
  const Tensor& gg = g.grads[0];
  return {g.needs[0] ? conv_no_bias(gg, f, g.attrs) : Tensor(),
          g.needs[1] ? backprop_filter(gg, dy, f.shape(), g.attrs) : Tensor()};
}

// df = backprop_filter(x, dy) is linear in x and in dy.
std::vector<Tensor> grad_backprop_filter(const GradCall& g) {
  const Tensor& x = g.inputs[0];
  const Tensor& dy = g.inputs[1];
  const Tensor& gg = g.grads[0];
  return {g.needs[0] ? backprop_input(dy, gg, x.shape(), g.attrs) : Tensor(),
          g.needs[1] ? conv_no_bias(x, gg, g.attrs) : Tensor()};
}

std::vector<TensorMeta> infer_conv2d_relu_max_pool2d(const OpCall& call) {
  ops::require_same_dtype(call);
  const ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  const Tensor& x = call.inputs[0];
  const auto g = ops::conv2d_geometry(x.shape(), call.inputs[1].shape(), a.conv, call.name());
  check_bias(call, g);
  const auto w = ops::pool_window_2d(Shape{g.n, g.win.out_h, g.win.out_w, g.c_out}, a.pool, call.name());
  const Shape y{g.n, w.out_h, w.out_w, g.c_out};
  return {TensorMeta{y, x.dtype()}, TensorMeta{y, DType::Int64}};
}

// The reference: the two ops (on a device without the fused kernel, each one records itself).
std::vector<Tensor> fallback_conv2d_relu_max_pool2d(const OpCall& call) {
  static const OpDef& conv = find_op("conv2d");
  static const OpDef& pool = find_op("max_pool2d");
  ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  a.conv.set("activation", std::string("relu"));
  return dispatch(pool, {dispatch1(conv, call.inputs, a.conv)}, a.pool);
}

// max_pool2d_grad of the pooled gradient dy to conv2d(x, filter)'s output.
Tensor scatter_to_conv_output(const Tensor& dy, const Tensor& argmax, const Shape& x, const Shape& filter, const Attrs& conv,
                              const char* op) {
  static const OpDef& scatter = find_op("max_pool2d_grad");
  const auto g = ops::conv2d_geometry(x, filter, conv, op);
  return dispatch1(scatter, {dy, argmax}, Attrs{{"input_shape", std::vector<int64_t>{g.n, g.win.out_h, g.win.out_w, g.c_out}}});
}

// relu's derivative where the pooled gradient lands (each window's maximum z of the convolution's
// output) is z > 0, and z is the pooled output y there: mask dy by y > 0 (with the bias gradient,
// in relu_bias_grad's one pass), then scatter.
// The filter's gradient alone (an input layer's: x needs none) takes the pooled gradient and
// argmax as they are (conv2d_relu_max_pool2d_backprop_filter).
std::vector<Tensor> grad_conv2d_relu_max_pool2d(const GradCall& g) {
  static const OpDef& filter_grad = find_op("conv2d_relu_max_pool2d_backprop_filter");
  const Tensor& x = g.inputs[0];
  const Tensor& f = g.inputs[1];
  const bool bias_grad = g.inputs.size() == 3 && g.needs[2];
  auto [masked, dbias] = ops::pre_activation_grads(g.grads[0], g.outputs[0], "relu", bias_grad);
  std::vector<Tensor> out(g.inputs.size());
  if (bias_grad) out[2] = dbias;
  if (!g.needs[0]) {
    Attrs attrs = g.attrs;
    attrs.set("filter_shape", f.shape().vec());
    if (g.needs[1]) out[1] = dispatch1(filter_grad, {x, masked, g.outputs[1]}, attrs);
    return out;
  }
  const ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(g.attrs);
  const Tensor dz = scatter_to_conv_output(masked, g.outputs[1], x.shape(), f.shape(), a.conv, g.name());
  out[0] = backprop_input(dz, f, x.shape(), a.conv);
  if (g.needs[1]) out[1] = backprop_filter(x, dz, f.shape(), a.conv);
  return out;
}

// (x, dy, argmax) -> the filter's shape: dy and argmax of the pooling's output shape.
std::vector<TensorMeta> infer_conv2d_relu_max_pool2d_backprop_filter(const OpCall& call) {
  const Tensor &x = call.inputs[0], &dy = call.inputs[1];
  if (x.dtype() != dy.dtype()) {
    throw DTypeError(ops::op_prefix(call) + "x is " + dtype_name(x.dtype()) + " but dy is " + dtype_name(dy.dtype()));
  }
  const ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  const Shape filter = shape_attr(call, "filter_shape");
  const auto g = ops::conv2d_geometry(x.shape(), filter, a.conv, call.name());
  const auto w = ops::pool_window_2d(Shape{g.n, g.win.out_h, g.win.out_w, g.c_out}, a.pool, call.name());
  const Shape pooled{g.n, w.out_h, w.out_w, g.c_out};
  for (int i : {1, 2}) {
    if (call.inputs[i].shape() != pooled) {
      throw ShapeError(ops::op_prefix(call) + (i == 1 ? "dy" : "argmax") + " has shape " + call.inputs[i].shape().str() +
                       ", the pooling's output is " + pooled.str());
    }
  }
  return {TensorMeta{filter, x.dtype()}};
}

// The reference (and its gradient): scatter, then conv2d_backprop_filter.
std::vector<Tensor> fallback_conv2d_relu_max_pool2d_backprop_filter(const OpCall& call) {
  const ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  const Shape filter = shape_attr(call, "filter_shape");
  const Tensor& x = call.inputs[0];
  return {backprop_filter(x, scatter_to_conv_output(call.inputs[1], call.inputs[2], x.shape(), filter, a.conv, call.name()),
                          filter, a.conv)};
}

OpBuilder conv_op(const char* name, std::initializer_list<const char*> inputs) {
  OpBuilder b = define_op(name);
  b.inputs(inputs)
      .dtypes(kFloatTypes | kHalfTypes)
      .attr("strides", std::vector<int64_t>{1, 1})
      .attr("padding", std::string("valid"))
      .attr("explicit_paddings", AttrType::IntList)
      .attr("dilations", std::vector<int64_t>{1, 1})
      .attr("groups", int64_t{1})
      .attr("algorithm", std::string("auto"));
  return b;
}

// The max pooling's attributes of the fused ops, prefixed "pool_" (ops::split_conv_pool_attrs).
OpBuilder& with_pool_attrs(OpBuilder&& b) {
  return b.attr("pool_window", AttrType::IntList, true).attr("pool_strides", AttrType::IntList)
      .attr("pool_padding", std::string("valid")).attr("pool_explicit_paddings", AttrType::IntList);
}

}  // namespace

LOOM_REGISTER_OPS(nn_conv) {
  conv_op("conv2d", {"x", "filter"}).optional_inputs({"bias"}).attr("activation", std::string("linear")).infer(infer_conv2d).grad(grad_conv2d)
      .saves(true, true)
      .doc("2-D convolution: x NHWC, filter HWIO (I = C_in / groups), optional bias, then linear/relu/sigmoid/tanh; "
           "padding \"same\"/\"valid\"/\"explicit\" (explicit_paddings = top, bottom, left, right)");
  conv_op("conv2d_backprop_input", {"dy", "filter"}).attr("input_shape", AttrType::IntList, true)
      .infer(infer_backprop_input).grad(grad_backprop_input)
      .doc("gradient of conv2d with respect to its input: (dy, filter) -> dx");
  conv_op("conv2d_backprop_filter", {"x", "dy"}).attr("filter_shape", AttrType::IntList, true)
      .infer(infer_backprop_filter).grad(grad_backprop_filter)
      .doc("gradient of conv2d with respect to its filter: (x, dy) -> dfilter");
  with_pool_attrs(conv_op("conv2d_relu_max_pool2d", {"x", "filter"})).optional_inputs({"bias"}).outputs({"y", "argmax"})
      .infer(infer_conv2d_relu_max_pool2d).fallback(fallback_conv2d_relu_max_pool2d).grad(grad_conv2d_relu_max_pool2d)
      .saves(true, true).internal()
      .doc("max_pool2d (pool_ attributes) of conv2d with relu, one op for the gradient (ops/conv_pool.hpp)");
  with_pool_attrs(conv_op("conv2d_relu_max_pool2d_backprop_filter", {"x", "dy", "argmax"}))
      .input_dtypes(2, mask_of({DType::Int64})).attr("filter_shape", AttrType::IntList, true)
      .infer(infer_conv2d_relu_max_pool2d_backprop_filter).fallback(fallback_conv2d_relu_max_pool2d_backprop_filter)
      .grad_through_fallback().nondiff({2}).internal()
      .doc("conv2d_relu_max_pool2d's filter gradient from its pooled gradient dy (relu applied) and argmax");
}

namespace {
Attrs conv_attrs(const Conv2DOptions& o) {
  Attrs attrs = ops::padding_attrs(o.padding);
  attrs.set("strides", o.strides);
  attrs.set("dilations", o.dilations);
  attrs.set("groups", o.groups);
  attrs.set("algorithm", o.algorithm);
  return attrs;
}
}  // namespace

namespace ops {
Tensor conv2d_relu_max_pool2d(const Tensor& x, const Tensor& filter, const Tensor& bias, const Conv2DOptions& conv,
                              const Pool2DOptions& pool) {
  static const OpDef& op = find_op("conv2d_relu_max_pool2d");
  if (conv.activation != "relu") {
    throw InvalidArgument("[conv2d_relu_max_pool2d] the convolution's activation must be relu, got '" + conv.activation + "'");
  }
  Attrs attrs = conv_attrs(conv);
  const Attrs pooling = pool_attrs(pool);
  for (const auto& [name, value] : pooling.items()) attrs.set("pool_" + name, value);
  return dispatch(op, bias.defined() ? std::vector<Tensor>{x, filter, bias} : std::vector<Tensor>{x, filter}, attrs)[0];
}
}  // namespace ops

Shape conv2d_output_shape(const Shape& input, int64_t kernel_h, int64_t kernel_w, int64_t filters, const Conv2DOptions& o) {
  if (input.rank() != 4) throw ShapeError("[conv2d] input must be rank 4 (NHWC), got shape " + input.str());
  const auto w = ops::window_2d(input[1], input[2], kernel_h, kernel_w, conv_attrs(o), "conv2d", true);
  return Shape{input[0], w.out_h, w.out_w, filters};
}

Tensor conv2d(const Tensor& x, const Tensor& filter, const Tensor& bias, const Conv2DOptions& o) {
  static const OpDef& op = find_op("conv2d");
  Attrs attrs = conv_attrs(o);
  if (!ops::fusable_activation(o.activation)) {
    Conv2DOptions linear = o;
    linear.activation = "linear";
    return activation(conv2d(x, filter, bias, linear), o.activation);
  }
  if (o.activation != "linear") attrs.set("activation", o.activation);
  return bias.defined() ? dispatch1(op, {x, filter, bias}, attrs) : dispatch1(op, {x, filter}, attrs);
}

}  // namespace loom
