// ONNX's elementwise and reduction operators: loom ops in OpLayers (merge layers for same-shaped
// graph tensors), computed at once when every input is a constant.
#include <cmath>
#include <limits>

#include "interop/onnx_import.hpp"
#include "loom/creation.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

namespace loom::interop {
namespace {

using Values = std::vector<ImportValue>;

// A value with the name its layout changes are remembered by.
struct Operand {
  std::string name;
  ImportValue value;
};

std::vector<Operand> operands(const OnnxNode& n, int first = 0, int count = -1) {
  std::vector<Operand> out;
  const int end = count < 0 ? n.input_count() : first + count;
  for (int i = first; i < end; ++i) out.push_back({n.proto().input(i), n.input(i)});
  return out;
}

// `op` on `args`, broadcasting as ONNX does. The result stays NHWC when every graph tensor among
// the arguments is, the constants laid out to match.
ImportValue elementwise(OnnxNode& n, const std::string& op, const Attrs& attrs, const std::vector<Operand>& args) {
  if (std::all_of(args.begin(), args.end(), [](const Operand& a) { return a.value.is_constant(); })) {
    std::vector<Tensor> values;
    for (const Operand& a : args) values.push_back(*a.value.constant);
    return ImportValue::of(call_op(op, values, attrs).at(0));
  }
  bool channels_last = true;
  for (const Operand& a : args) {
    channels_last = channels_last && (a.value.is_constant() ? a.value.constant->rank() <= 4 : a.value.channels_last);
  }
  std::vector<int64_t> order;
  std::vector<Tensor> constants;
  std::vector<nn::SymbolicTensor> inputs;
  for (const Operand& a : args) {
    if (a.value.is_constant()) {
      order.push_back(-1 - static_cast<int64_t>(constants.size()));
      constants.push_back(channels_last ? *channels_last_constant(*a.value.constant) : *a.value.constant);
    } else {
      order.push_back(static_cast<int64_t>(inputs.size()));
      inputs.push_back(n.relayout(a.name, a.value, channels_last));
    }
  }
  auto layer = std::make_shared<nn::OpLayer>(op, attrs, order, constants, n.layer_name());
  return ImportValue::of(n.apply(layer, inputs), channels_last);
}

Values unary(OnnxNode& n, const std::string& op, const Attrs& attrs = {}) {
  return {elementwise(n, op, attrs, operands(n, 0, 1))};
}

// Whether every argument is a graph tensor of one shape and layout (a Keras merge layer's case).
bool mergeable(const std::vector<Operand>& args) {
  for (const Operand& a : args) {
    if (a.value.is_constant() || a.value.channels_last != args[0].value.channels_last ||
        a.value.symbolic.shape() != args[0].value.symbolic.shape()) {
      return false;
    }
  }
  return args.size() >= 2;
}

// Add, Sub, Mul, Div, Pow and the variadic Sum, Mean, Max, Min: a merge layer for same-shaped
// graph tensors, else the binary op `op` in a chain (Mean scales the sum).
template <class Merge>
Values combine(OnnxNode& n, const std::string& op, bool mean = false) {
  const std::vector<Operand> args = operands(n);
  if (args.empty()) n.malformed("needs at least one input");
  if constexpr (!std::is_same_v<Merge, void>) {
    if (mergeable(args)) {
      std::vector<nn::SymbolicTensor> inputs;
      for (const Operand& a : args) inputs.push_back(a.value.symbolic);
      return {ImportValue::of(n.apply(std::make_shared<Merge>(n.layer_name()), inputs), args[0].value.channels_last)};
    }
  }
  Operand acc = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    acc = {n.proto().output(0) + "#" + std::to_string(i), elementwise(n, op, {}, {acc, args[i]})};
  }
  if (mean && args.size() > 1) {
    const Tensor scale = fill({}, 1.0 / static_cast<double>(args.size()), acc.value.is_constant() ? acc.value.constant->dtype()
                                                                                                    : acc.value.symbolic.dtype());
    acc.value = elementwise(n, "mul", {}, {acc, {"", ImportValue::of(scale)}});
  }
  return {acc.value};
}

Values clip(OnnxNode& n) {
  const double lo = n.has_input(1) ? n.constant(1, "min").item<double>() : -std::numeric_limits<double>::infinity();
  const double hi = n.has_input(2) ? n.constant(2, "max").item<double>() : std::numeric_limits<double>::infinity();
  return unary(n, "clip", Attrs{{"min", lo}, {"max", hi}});
}

Values hard_sigmoid(OnnxNode& n) {
  if (static_cast<float>(n.attr_float("alpha", 0.2)) != 0.2f || static_cast<float>(n.attr_float("beta", 0.5)) != 0.5f) {
    n.unsupported("only alpha 0.2 and beta 0.5 are imported (loom's hard_sigmoid)");
  }
  return unary(n, "hard_sigmoid");
}

// The reductions: axes from the attribute (from input 1 for ReduceSum), never the batch axis.
Values reduce(OnnxNode& n, const std::string& op) {
  const ImportValue& x = n.input(0);
  const int rank = n.onnx_shape(x).rank();
  std::vector<int64_t> axes = n.attr_ints("axes", {});
  if (op == "reduce_sum" && n.has_input(1)) axes = n.constant_ints(1, "axes");
  if (axes.empty() && op == "reduce_sum" && n.attr_int("noop_with_empty_axes", 0) != 0) return {x};
  if (axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) n.malformed("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    if (a < 0) a += rank;
  }
  const bool keepdims = n.attr_int("keepdims", 1) != 0;
  if (x.is_constant()) return {ImportValue::of(call_op(op, {*x.constant}, Attrs{{"axes", axes}, {"keepdims", keepdims}}).at(0))};
  if (std::find(axes.begin(), axes.end(), 0) != axes.end()) n.unsupported("reductions over the batch axis are not imported");
  const bool channels_last = x.channels_last && keepdims;
  if (channels_last) {
    for (int64_t& a : axes) a = channels_last_axis(a);
  }
  auto layer = std::make_shared<nn::OpLayer>(op, Attrs{{"axes", axes}, {"keepdims", keepdims}}, std::vector<int64_t>{0},
                                             std::vector<Tensor>{}, n.layer_name());
  return {ImportValue::of(n.apply(layer, {channels_last ? n.channels_last(0) : n.in_onnx_layout(0)}), channels_last)};
}

Values softmax(OnnxNode& n, const std::string& op) {
  const ImportValue& x = n.input(0);
  const int rank = n.onnx_shape(x).rank();
  int64_t axis = n.attr_int("axis", -1);
  if (axis < -rank || axis >= rank) n.malformed("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  if (x.is_constant()) return {ImportValue::of(call_op(op, {*x.constant}, Attrs{{"axis", axis}}).at(0))};
  if (axis == 0) n.unsupported("a softmax over the batch axis is not imported");
  auto layer = std::make_shared<nn::OpLayer>(op, Attrs{{"axis", x.channels_last ? channels_last_axis(axis) : axis}},
                                             std::vector<int64_t>{0}, std::vector<Tensor>{}, n.layer_name());
  return {ImportValue::of(n.apply(layer, {x.symbolic}), x.channels_last)};
}

}  // namespace

void add_math_converters(std::map<std::string, OnnxConverter>& t) {
  for (const auto& [onnx_op, loom_op] : std::map<std::string, std::string>{
           {"Abs", "abs"}, {"Neg", "neg"}, {"Exp", "exp"}, {"Log", "log"}, {"Sqrt", "sqrt"}, {"Sin", "sin"},
           {"Cos", "cos"}, {"Erf", "erf"}, {"Sign", "sign"}}) {
    t[onnx_op] = [op = loom_op](OnnxNode& n) { return unary(n, op); };
  }
  t["Reciprocal"] = [](OnnxNode& n) {
    const Tensor one = fill({}, 1.0, n.input(0).is_constant() ? n.input(0).constant->dtype() : n.input(0).symbolic.dtype());
    return Values{elementwise(n, "div", {}, {{"", ImportValue::of(one)}, {n.proto().input(0), n.input(0)}})};
  };
  t["Elu"] = [](OnnxNode& n) { return unary(n, "elu", Attrs{{"alpha", n.attr_float("alpha", 1.0)}}); };
  t["LeakyRelu"] = [](OnnxNode& n) { return unary(n, "leaky_relu", Attrs{{"alpha", n.attr_float("alpha", 0.01)}}); };
  t["HardSigmoid"] = hard_sigmoid;
  t["Clip"] = clip;
  t["Add"] = [](OnnxNode& n) { return combine<nn::Add>(n, "add"); };
  t["Sub"] = [](OnnxNode& n) { return combine<nn::Subtract>(n, "sub"); };
  t["Mul"] = [](OnnxNode& n) { return combine<nn::Multiply>(n, "mul"); };
  t["Div"] = [](OnnxNode& n) { return combine<void>(n, "div"); };
  t["Pow"] = [](OnnxNode& n) { return combine<void>(n, "pow"); };
  t["Sum"] = [](OnnxNode& n) { return combine<nn::Add>(n, "add"); };
  t["Mean"] = [](OnnxNode& n) { return combine<nn::Average>(n, "add", true); };
  t["Max"] = [](OnnxNode& n) { return combine<nn::Maximum>(n, "maximum"); };
  t["Min"] = [](OnnxNode& n) { return combine<nn::Minimum>(n, "minimum"); };
  for (const auto& [onnx_op, loom_op] : std::map<std::string, std::string>{
           {"ReduceSum", "reduce_sum"}, {"ReduceMean", "reduce_mean"}, {"ReduceMax", "reduce_max"},
           {"ReduceMin", "reduce_min"}, {"ReduceProd", "reduce_prod"}}) {
    t[onnx_op] = [op = loom_op](OnnxNode& n) { return reduce(n, op); };
  }
  t["Softmax"] = [](OnnxNode& n) { return softmax(n, "softmax"); };
  t["LogSoftmax"] = [](OnnxNode& n) { return softmax(n, "log_softmax"); };
}

}  // namespace loom::interop
