// What each built-in layer type writes into an exported ONNX graph.
#include <cmath>
#include <map>

#include "interop/onnx_export.hpp"
#include "loom/backend/geometry.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/functional.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

namespace loom::interop {
namespace {

using Writer = OnnxGraphWriter;
using Values = std::vector<ExportValue>;

Tensor scalar(double value) { return fill({}, value); }

// The activation `name` (loom::activation's names) on v.
ExportValue activate(Writer& g, const ExportValue& v, const std::string& name, const std::string& hint) {
  static const std::map<std::string, std::string> elementwise = {
      {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"softplus", "Softplus"},
      {"exp", "Exp"},   {"exponential", "Exp"}, {"elu", "Elu"},   {"leaky_relu", "LeakyRelu"},
      {"hard_sigmoid", "HardSigmoid"}};
  if (name.empty() || name == "linear") return v;
  if (const auto it = elementwise.find(name); it != elementwise.end()) {
    onnx::NodeProto& n = g.node(it->second, {v.name}, hint);
    if (name == "leaky_relu") Writer::set(n, "alpha", 0.2);  // loom::activation's slope
    if (name == "hard_sigmoid") {
      Writer::set(n, "alpha", 0.2);
      Writer::set(n, "beta", 0.5);
    }
    return {n.output(0), v.shape, v.nchw};
  }
  if (name == "swish" || name == "silu") return {g.op("Mul", {v.name, g.op("Sigmoid", {v.name}, hint)}, hint), v.shape, v.nchw};
  if (name == "gelu") {  // x * (1 + erf(x / sqrt(2))) / 2: ONNX has Gelu only from opset 20
    const std::string erf = g.op("Erf", {g.op("Div", {v.name, g.constant(hint + "/sqrt2", scalar(std::sqrt(2.0)))}, hint)}, hint);
    const std::string one_plus = g.op("Add", {erf, g.constant(hint + "/one", scalar(1.0))}, hint);
    const std::string product = g.op("Mul", {v.name, one_plus}, hint);
    return {g.op("Mul", {product, g.constant(hint + "/half", scalar(0.5))}, hint), v.shape, v.nchw};
  }
  if (name == "softmax" || name == "log_softmax") {
    const ExportValue x = g.in_loom_layout(v);
    onnx::NodeProto& n = g.node(name == "softmax" ? "Softmax" : "LogSoftmax", {x.name}, hint);
    Writer::set(n, "axis", int64_t{-1});
    return {n.output(0), x.shape, false};
  }
  throw UnimplementedError("[export_onnx] activation '" + name + "' of layer '" + hint + "' has no ONNX form in loom");
}

// The padding of a window layer in ONNX's order {top, left, bottom, right}, from loom's
// geometry of the window over the input (so "same" pads as loom pads).
std::vector<int64_t> onnx_pads(const Shape& nhwc, int64_t k_h, int64_t k_w, const Attrs& layer_config) {
  Attrs window;
  window.set("strides", layer_config.get_ints("strides", "export_onnx"));
  if (layer_config.has("dilation_rate")) window.set("dilations", layer_config.get_ints("dilation_rate", "export_onnx"));
  const AttrValue* padding = layer_config.find("padding");
  if (padding && std::holds_alternative<std::vector<int64_t>>(*padding)) {
    window.set("padding", std::string("explicit"));
    window.set("explicit_paddings", *padding);
  } else {
    window.set("padding", layer_config.get_string("padding", "export_onnx"));
  }
  const ops::Window2D w = ops::window_2d(nhwc[1], nhwc[2], k_h, k_w, window, "export_onnx", true);
  return {w.pad_top, w.pad_left, w.pad_bottom, w.pad_right};
}

Values dense(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  const auto& d = dynamic_cast<const nn::Dense&>(layer);
  const ExportValue x = g.in_loom_layout(in[0]);
  const std::string kernel = g.constant(d.kernel().name(), d.kernel());
  const bool bias = d.bias().defined();
  std::string y;
  if (x.shape.rank() == 2) {
    std::vector<std::string> args{x.name, kernel};
    if (bias) args.push_back(g.constant(d.bias().name(), d.bias()));
    y = g.op("Gemm", args, d.name());
  } else {
    y = g.op("MatMul", {x.name, kernel}, d.name());
    if (bias) y = g.op("Add", {y, g.constant(d.bias().name(), d.bias())}, d.name());
  }
  return {activate(g, {y, out[0], false}, d.get_config().get_string("activation", "export_onnx"), d.name())};
}

Values conv2d(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  const auto& c = dynamic_cast<const nn::Conv2D&>(layer);
  const Attrs config = c.get_config();
  const ExportValue x = g.in_nchw(in[0]);
  const Shape& k = c.kernel().shape();  // (KH, KW, C_in / groups, C_out) -> ONNX's (C_out, C_in / groups, KH, KW)
  std::vector<std::string> args{x.name, g.constant(c.kernel().name(), transpose(c.kernel(), {3, 2, 0, 1}))};
  if (c.bias().defined()) args.push_back(g.constant(c.bias().name(), c.bias()));
  onnx::NodeProto& n = g.node("Conv", args, c.name());
  Writer::set(n, "kernel_shape", std::vector<int64_t>{k[0], k[1]});
  Writer::set(n, "strides", config.get_ints("strides", "export_onnx"));
  Writer::set(n, "dilations", config.get_ints("dilation_rate", "export_onnx"));
  Writer::set(n, "group", config.get_int("groups", "export_onnx"));
  Writer::set(n, "pads", onnx_pads(in[0].shape, k[0], k[1], config));
  return {activate(g, {n.output(0), out[0], true}, config.get_string("activation", "export_onnx"), c.name())};
}

Values pool2d(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  const auto& p = dynamic_cast<const nn::Pool2D&>(layer);
  const Attrs config = p.get_config();
  const std::vector<int64_t>& window = p.options().window;
  const bool max = layer.type_name() == "MaxPool2D";
  onnx::NodeProto& n = g.node(max ? "MaxPool" : "AveragePool", {g.in_nchw(in[0]).name}, p.name());
  Writer::set(n, "kernel_shape", window);
  Writer::set(n, "strides", p.options().strides);
  Writer::set(n, "pads", onnx_pads(in[0].shape, window[0], window[1], config));
  if (!max) Writer::set(n, "count_include_pad", int64_t{0});  // loom's averages leave padding out
  return {{n.output(0), out[0], true}};
}

Values global_avg_pool(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  if (in[0].nchw) {
    const std::string pooled = g.op("GlobalAveragePool", {in[0].name}, layer.name());
    onnx::NodeProto& flat = g.node("Flatten", {pooled}, layer.name());
    Writer::set(flat, "axis", int64_t{1});
    return {{flat.output(0), out[0], false}};
  }
  onnx::NodeProto& n = g.node("ReduceMean", {in[0].name}, layer.name());
  Writer::set(n, "axes", std::vector<int64_t>{1, 2});
  Writer::set(n, "keepdims", int64_t{0});
  return {{n.output(0), out[0], false}};
}

Values batch_norm(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  const auto& b = dynamic_cast<const nn::BatchNormalization&>(layer);
  const double epsilon = b.get_config().get_float("epsilon", "export_onnx");
  const int rank = in[0].shape.rank();
  if (rank == 2 || rank == 4) {  // ONNX normalizes axis 1: the channels of (N, C) and of NCHW
    const ExportValue x = g.in_nchw(in[0]);
    onnx::NodeProto& n = g.node("BatchNormalization",
                                {x.name, g.constant(b.gamma().name(), b.gamma()), g.constant(b.beta().name(), b.beta()),
                                 g.constant(b.moving_mean().name(), b.moving_mean()),
                                 g.constant(b.moving_variance().name(), b.moving_variance())},
                                b.name());
    Writer::set(n, "epsilon", epsilon);
    return {{n.output(0), out[0], x.nchw}};
  }
  // Other ranks normalize their last axis: x * scale + shift with the statistics folded in.
  const ExportValue x = g.in_loom_layout(in[0]);
  const Tensor scale = b.gamma() * rsqrt(b.moving_variance() + epsilon);
  const Tensor shift = b.beta() - b.moving_mean() * scale;
  const std::string scaled = g.op("Mul", {x.name, g.constant(b.name() + "/scale", scale)}, b.name());
  return {{g.op("Add", {scaled, g.constant(b.name() + "/shift", shift)}, b.name()), out[0], false}};
}

// The normalized axis of a Concatenate, and where it lands in NCHW.
Values concatenate(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  const int rank = out[0].rank();
  int64_t axis = layer.get_config().get_int("axis", "export_onnx");
  if (axis < 0) axis += rank;
  bool all_nchw = true;
  for (const ExportValue& v : in) all_nchw = all_nchw && v.nchw;
  std::vector<std::string> args;
  for (const ExportValue& v : in) args.push_back(all_nchw ? v.name : g.in_loom_layout(v).name);
  onnx::NodeProto& n = g.node("Concat", args, layer.name());
  static const int64_t kNchwAxisOf[] = {0, 2, 3, 1};  // N, H, W, C
  Writer::set(n, "axis", all_nchw ? kNchwAxisOf[axis] : axis);
  return {{n.output(0), out[0], all_nchw}};
}

Values merge(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  static const std::map<std::string, std::string> variadic = {
      {"Add", "Sum"}, {"Average", "Mean"}, {"Maximum", "Max"}, {"Minimum", "Min"}};
  bool all_nchw = true;
  for (const ExportValue& v : in) all_nchw = all_nchw && v.nchw;
  std::vector<std::string> args;
  for (const ExportValue& v : in) args.push_back(all_nchw ? v.name : g.in_loom_layout(v).name);
  const std::string type = layer.type_name();
  std::string y;
  if (const auto it = variadic.find(type); it != variadic.end()) {
    y = g.op(it->second, args, layer.name());
  } else {  // Subtract (two inputs), Multiply (a chain)
    y = args[0];
    for (size_t i = 1; i < args.size(); ++i) y = g.op(type == "Subtract" ? "Sub" : "Mul", {y, args[i]}, layer.name());
  }
  return {{y, out[0], all_nchw}};
}

Values flatten(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  onnx::NodeProto& n = g.node("Flatten", {g.in_loom_layout(in[0]).name}, layer.name());
  Writer::set(n, "axis", int64_t{1});
  return {{n.output(0), out[0], false}};
}

Values reshape(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  std::vector<int64_t> target{0};  // 0: the batch axis as it is
  for (size_t i = 1; i < out[0].size(); ++i) target.push_back(out[0][i]);
  const std::string shape = g.constant(layer.name() + "/shape", constant(target));
  return {{g.op("Reshape", {g.in_loom_layout(in[0]).name, shape}, layer.name()), out[0], false}};
}

Values permute(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>& out) {
  std::vector<int64_t> perm{0};
  for (int64_t d : dynamic_cast<const nn::Permute&>(layer).dims()) perm.push_back(d);
  onnx::NodeProto& n = g.node("Transpose", {g.in_loom_layout(in[0]).name}, layer.name());
  Writer::set(n, "perm", perm);
  return {{n.output(0), out[0], false}};
}

Values activation(Writer& g, const nn::Layer& layer, const Values& in, const std::vector<Shape>&) {
  return {activate(g, in[0], layer.get_config().get_string("activation", "export_onnx"), layer.name())};
}

Values pass_through(Writer&, const nn::Layer&, const Values& in, const std::vector<Shape>&) { return in; }

using Emitter = Values (*)(Writer&, const nn::Layer&, const Values&, const std::vector<Shape>&);

const std::map<std::string, Emitter>& emitters() {
  static const std::map<std::string, Emitter> table = {
      {"Dense", dense},           {"Conv2D", conv2d},         {"MaxPool2D", pool2d},   {"AvgPool2D", pool2d},
      {"GlobalAvgPool2D", global_avg_pool}, {"BatchNormalization", batch_norm}, {"Dropout", pass_through},
      {"Activation", activation}, {"Flatten", flatten},       {"Reshape", reshape},    {"Permute", permute},
      {"Concatenate", concatenate}, {"Add", merge},          {"Subtract", merge},     {"Multiply", merge},
      {"Average", merge},         {"Maximum", merge},         {"Minimum", merge},      {"InputLayer", pass_through}};
  return table;
}

}  // namespace

std::vector<ExportValue> export_layer(OnnxGraphWriter& graph, const nn::Layer& layer, const std::vector<ExportValue>& inputs,
                                      const std::vector<Shape>& output_shapes) {
  if (dynamic_cast<const nn::Model*>(&layer)) return export_model(graph, layer, inputs);
  const auto it = emitters().find(layer.type_name());
  if (it == emitters().end()) {
    std::string known = "Sequential, Functional";
    for (const auto& [name, unused] : emitters()) known += ", " + name;
    throw UnimplementedError("[export_onnx] layer '" + layer.name() + "' of type '" +
                             (layer.type_name().empty() ? std::string("(custom)") : layer.type_name()) +
                             "' has no ONNX form in loom (it exports: " + known + ")");
  }
  return it->second(graph, layer, inputs, output_shapes);
}

}  // namespace loom::interop
