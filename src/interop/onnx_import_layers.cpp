// ONNX operators that become loom's Keras layers: Conv, pooling, BatchNormalization, Gemm and
// MatMul with constant weights, Dropout and the common activations.
#include <cmath>

#include "interop/onnx_import.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

namespace loom::interop {
namespace {

using Values = std::vector<ImportValue>;

// The window attributes Conv and the pooling operators share, for an input of NCHW shape
// `onnx_shape` and a k_h x k_w window: loom's padding (from auto_pad or pads), strides and
// dilations.
struct Window {
  Padding padding{"valid"};
  std::vector<int64_t> strides{1, 1}, dilations{1, 1};
};

Window window_of(const OnnxNode& n, const Shape& onnx_shape, int64_t k_h, int64_t k_w) {
  Window w;
  w.strides = n.attr_ints("strides", {1, 1});
  w.dilations = n.attr_ints("dilations", {1, 1});
  if (w.strides.size() != 2 || w.dilations.size() != 2) n.unsupported("only 2-D windows are imported (strides and dilations of 2 values)");
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER") {
    w.padding = Padding("same");  // loom's "same" puts the odd pixel at the end, as SAME_UPPER
  } else if (auto_pad == "SAME_LOWER") {
    std::vector<int64_t> pads;
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t in = onnx_shape[2 + axis], k = axis == 0 ? k_h : k_w, s = w.strides[axis];
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((out - 1) * s + (k - 1) * w.dilations[axis] + 1 - in, 0);
      pads.push_back(total - total / 2);  // the odd pixel first
      pads.push_back(total / 2);
    }
    w.padding = Padding(pads[0], pads[1], pads[2], pads[3]);
  } else if (auto_pad == "NOTSET") {
    const std::vector<int64_t> p = n.attr_ints("pads", {0, 0, 0, 0});  // {top, left, bottom, right}
    if (p.size() != 4) n.unsupported("only 2-D windows are imported (pads of 4 values)");
    if (std::any_of(p.begin(), p.end(), [](int64_t v) { return v < 0; })) n.malformed("pads must be >= 0");
    if (std::any_of(p.begin(), p.end(), [](int64_t v) { return v != 0; })) w.padding = Padding(p[0], p[2], p[1], p[3]);
  } else if (auto_pad != "VALID") {
    n.malformed("unknown auto_pad '" + auto_pad + "'");
  }
  return w;
}

// The pooling window; ceil_mode is taken where it gives the same output size as floor.
std::vector<int64_t> pool_kernel(const OnnxNode& n, const Shape& onnx_shape) {
  const std::vector<int64_t> k = n.attr_ints("kernel_shape", {});
  if (k.size() != 2 || onnx_shape.rank() != 4) n.unsupported("only 2-D pooling of NCHW images is imported");
  if (n.attr_int("storage_order", 0) != 0) n.unsupported("storage_order 1 is not imported");
  if (n.attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1}) n.unsupported("dilated pooling is not imported");
  if (n.proto().output_size() > 1 && !n.proto().output(1).empty()) n.unsupported("the Indices output is not imported");
  if (n.attr_int("ceil_mode", 0) != 0) {
    const Window w = window_of(n, onnx_shape, k[0], k[1]);
    for (int axis = 0; axis < 2; ++axis) {
      const auto& p = w.padding.explicit_pads;
      const int64_t padded = onnx_shape[2 + axis] + (p.empty() ? 0 : p[2 * axis] + p[2 * axis + 1]);
      if ((padded - k[axis]) % w.strides[axis] != 0) n.unsupported("ceil_mode 1 is imported only where it changes nothing");
    }
  }
  return k;
}

Values conv(OnnxNode& n) {
  const Tensor& weight = n.constant(1, "the weight W");
  if (weight.rank() != 4) n.unsupported("only 2-D convolutions are imported (W of rank 4), got W of shape " + weight.shape().str());
  const Shape x = n.onnx_shape(n.input(0));
  const int64_t group = n.attr_int("group", 1);
  const Window w = window_of(n, x, weight.shape()[2], weight.shape()[3]);
  nn::Conv2DLayerOptions o;
  o.strides = w.strides;
  o.dilation_rate = w.dilations;
  o.padding = w.padding;
  o.groups = group;
  o.use_bias = n.has_input(2);
  o.kernel_initializer = o.bias_initializer = nn::Zeros();
  o.name = n.layer_name();
  auto layer = std::make_shared<nn::Conv2D>(weight.shape()[0], std::vector<int64_t>{weight.shape()[2], weight.shape()[3]}, o);
  const nn::SymbolicTensor y = n.apply(layer, {n.channels_last(0)});
  std::vector<Tensor> weights{transpose(weight, {2, 3, 1, 0})};  // (M, C/group, KH, KW) -> (KH, KW, C/group, M)
  if (o.use_bias) weights.push_back(n.constant(2, "the bias B"));
  n.set_weights(layer, weights);
  return {ImportValue::of(y, true)};
}

Values max_pool(OnnxNode& n) {
  const Shape x = n.onnx_shape(n.input(0));
  const std::vector<int64_t> k = pool_kernel(n, x);
  const Window w = window_of(n, x, k[0], k[1]);
  auto layer = std::make_shared<nn::MaxPool2D>(k, w.strides, w.padding, n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.channels_last(0)}), true)};
}

Values average_pool(OnnxNode& n) {
  const Shape x = n.onnx_shape(n.input(0));
  const std::vector<int64_t> k = pool_kernel(n, x);
  Window w = window_of(n, x, k[0], k[1]);
  nn::SymbolicTensor input = n.channels_last(0);
  if (n.attr_int("count_include_pad", 0) != 0 && w.padding.mode != "valid") {
    // Padded zeros count in the averages: pad first, then average without padding.
    if (w.padding.mode == "same") n.unsupported("count_include_pad 1 with auto_pad SAME is not imported");
    const auto& p = w.padding.explicit_pads;
    auto pad = std::make_shared<nn::OpLayer>("pad", Attrs{{"paddings", std::vector<int64_t>{0, 0, p[0], p[1], p[2], p[3], 0, 0}}},
                                             std::vector<int64_t>{0}, std::vector<Tensor>{}, n.layer_name("pad"));
    input = n.apply(pad, {input});
    w.padding = Padding("valid");
  }
  auto layer = std::make_shared<nn::AvgPool2D>(k, w.strides, w.padding, n.layer_name());
  return {ImportValue::of(n.apply(layer, {input}), true)};
}

// Global pooling keeps the 1x1 spatial axes, as ONNX does.
Values global_pool(OnnxNode& n, const std::string& op) {
  if (n.onnx_shape(n.input(0)).rank() != 4) n.unsupported("only global pooling of NCHW images is imported");
  const Attrs attrs = op == "global_avg_pool2d" ? Attrs{{"keepdims", true}}
                                                : Attrs{{"axes", std::vector<int64_t>{1, 2}}, {"keepdims", true}};
  auto layer = std::make_shared<nn::OpLayer>(op, attrs, std::vector<int64_t>{0}, std::vector<Tensor>{}, n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.channels_last(0)}), true)};
}

Values batch_norm(OnnxNode& n) {
  if (n.attr_int("training_mode", 0) != 0) n.unsupported("training_mode 1 is not imported (export the model for inference)");
  for (int i = 1; i < n.proto().output_size(); ++i) {
    if (!n.proto().output(i).empty()) {
      // Files exported in training form list the running statistics as outputs: nothing may read them.
      n.unsupported("the running statistics outputs are not imported");
    }
  }
  const int rank = n.onnx_shape(n.input(0)).rank();
  if (rank != 2 && rank != 4) n.unsupported("batch normalization is imported for (N, C) and NCHW inputs, got rank " + std::to_string(rank));
  nn::BatchNormalizationOptions o;
  o.epsilon = n.attr_float("epsilon", 1e-5);
  o.momentum = n.attr_float("momentum", 0.9);  // ONNX's momentum weighs the old statistics, as Keras'
  o.name = n.layer_name();
  auto layer = std::make_shared<nn::BatchNormalization>(o);
  const nn::SymbolicTensor y = n.apply(layer, {rank == 4 ? n.channels_last(0) : n.in_onnx_layout(0)});
  n.set_weights(layer, {n.constant(1, "scale"), n.constant(2, "B"), n.constant(3, "input_mean"), n.constant(4, "input_var")});
  return {ImportValue::of(y, rank == 4)};
}

// A Dense layer (x times kernel plus bias) for constant weights.
ImportValue dense(OnnxNode& n, const nn::SymbolicTensor& x, const Tensor& kernel, const std::optional<Tensor>& bias) {
  nn::DenseOptions o;
  o.use_bias = bias.has_value();
  o.kernel_initializer = o.bias_initializer = nn::Zeros();
  o.name = n.layer_name();
  auto layer = std::make_shared<nn::Dense>(kernel.shape()[1], o);
  const nn::SymbolicTensor y = n.apply(layer, {x});
  n.set_weights(layer, bias ? std::vector<Tensor>{kernel, *bias} : std::vector<Tensor>{kernel});
  return ImportValue::of(y);
}

Values gemm(OnnxNode& n) {
  if (!n.input(1).is_constant() || n.input(0).is_constant() || n.attr_int("transA", 0) != 0) {
    n.unsupported("Gemm is imported as a Dense layer: A from the graph (transA 0), B a constant");
  }
  const double alpha = n.attr_float("alpha", 1.0), beta = n.attr_float("beta", 1.0);
  Tensor kernel = n.constant(1, "B");
  if (kernel.rank() != 2) n.malformed("B must be a matrix, got shape " + kernel.shape().str());
  if (n.attr_int("transB", 0) != 0) kernel = transpose(kernel, {1, 0});
  if (alpha != 1.0) kernel = kernel * alpha;
  std::optional<Tensor> bias;
  if (n.has_input(2)) {
    const Tensor& c = n.constant(2, "C");
    const int64_t units = kernel.shape()[1];
    if (c.numel() != 1 && c.numel() != units) n.unsupported("C is imported as a bias of one value per output, got shape " + c.shape().str());
    bias = broadcast_to(reshape(c, {c.numel()}), {units}) * beta;
  }
  return {dense(n, n.in_onnx_layout(0), kernel, bias)};
}

Values matmul(OnnxNode& n) {
  if (n.all_constant()) return {ImportValue::of(loom::matmul(*n.input(0).constant, *n.input(1).constant))};
  if (n.input(1).is_constant() && n.input(1).constant->rank() == 2) {
    return {dense(n, n.in_onnx_layout(0), *n.input(1).constant, std::nullopt)};
  }
  std::vector<int64_t> operands;
  std::vector<Tensor> constants;
  std::vector<nn::SymbolicTensor> inputs;
  for (int i = 0; i < 2; ++i) {
    if (n.input(i).is_constant()) {
      operands.push_back(-1 - static_cast<int64_t>(constants.size()));
      constants.push_back(*n.input(i).constant);
    } else {
      operands.push_back(static_cast<int64_t>(inputs.size()));
      inputs.push_back(n.in_onnx_layout(i));
    }
  }
  auto layer = std::make_shared<nn::OpLayer>("matmul", Attrs{}, operands, constants, n.layer_name());
  return {ImportValue::of(n.apply(layer, inputs))};
}

Values dropout(OnnxNode& n) {
  if (n.proto().output_size() > 1 && !n.proto().output(1).empty()) n.unsupported("the mask output is not imported");
  if (n.has_input(2) && n.constant(2, "training_mode").item<bool>()) n.unsupported("training_mode true is not imported");
  const double ratio = n.has_input(1) ? n.constant(1, "ratio").item<double>() : 0.5;
  if (n.input(0).is_constant()) return {n.input(0)};
  // A Dropout layer: the identity when predicting, and dropout again when the model is trained.
  auto layer = std::make_shared<nn::Dropout>(ratio, std::nullopt, n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.input(0).symbolic}), n.input(0).channels_last)};
}

Values activation(OnnxNode& n, const std::string& name) {
  if (n.input(0).is_constant()) return {ImportValue::of(loom::activation(*n.input(0).constant, name))};
  auto layer = std::make_shared<nn::Activation>(name, n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.input(0).symbolic}), n.input(0).channels_last)};
}

}  // namespace

void add_layer_converters(std::map<std::string, OnnxConverter>& t) {
  t["Conv"] = conv;
  t["MaxPool"] = max_pool;
  t["AveragePool"] = average_pool;
  t["GlobalAveragePool"] = [](OnnxNode& n) { return global_pool(n, "global_avg_pool2d"); };
  t["GlobalMaxPool"] = [](OnnxNode& n) { return global_pool(n, "reduce_max"); };
  t["BatchNormalization"] = batch_norm;
  t["Gemm"] = gemm;
  t["MatMul"] = matmul;
  t["Dropout"] = dropout;
  t["Relu"] = [](OnnxNode& n) { return activation(n, "relu"); };
  t["Sigmoid"] = [](OnnxNode& n) { return activation(n, "sigmoid"); };
  t["Tanh"] = [](OnnxNode& n) { return activation(n, "tanh"); };
  t["Softplus"] = [](OnnxNode& n) { return activation(n, "softplus"); };
}

}  // namespace loom::interop
