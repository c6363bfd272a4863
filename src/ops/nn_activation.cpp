// Activations (composites of ops, so their gradients and second derivatives come for free),
// erf, dropout and activation lookup by Keras name.
#include <cmath>
#include <map>

#include "loom/nn_ops.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

std::vector<Tensor> grad_erf(const GradCall& g) {
  const Tensor& x = g.inputs[0];
  return {g.grads[0] * (exp(-square(x)) * kTwoOverSqrtPi)};
}

const Tensor& x_of(const OpCall& call) { return call.inputs[0]; }

std::vector<Tensor> forward_leaky_relu(const OpCall& call) {
  const Tensor& x = x_of(call);
  const double alpha = call.attrs.get_float("alpha", call.name());
  return {where(x > zeros_like(x), x, x * alpha)};
}

// exp of min(x, 0) keeps the unselected branch finite, so its gradient is never inf * 0.
std::vector<Tensor> forward_elu(const OpCall& call) {
  const Tensor& x = x_of(call);
  const double alpha = call.attrs.get_float("alpha", call.name());
  const Tensor zero = zeros_like(x);
  return {where(x > zero, x, (exp(minimum(x, zero)) - 1.0) * alpha)};
}

std::vector<Tensor> forward_gelu(const OpCall& call) {
  const Tensor& x = x_of(call);
  if (call.attrs.get_bool("approximate", call.name())) {
    return {x * 0.5 * (1.0 + tanh((x + x * x * x * 0.044715) * kSqrt2OverPi))};
  }
  return {x * 0.5 * (1.0 + erf(x * M_SQRT1_2))};
}

std::vector<Tensor> forward_softplus(const OpCall& call) {
  const Tensor& x = x_of(call);
  return {relu(x) + log1p(exp(-abs(x)))};
}

std::vector<Tensor> forward_silu(const OpCall& call) {
  const Tensor& x = x_of(call);
  return {x * sigmoid(x)};
}

std::vector<Tensor> forward_hard_sigmoid(const OpCall& call) {
  const Tensor& x = x_of(call);
  return {clip(x * 0.2 + 0.5, 0.0, 1.0)};
}

// Inverted dropout with a counter-based mask: the same seed gives the same mask on any device.
std::vector<Tensor> forward_dropout(const OpCall& call) {
  const Tensor& x = x_of(call);
  const double rate = call.attrs.get_float("rate", call.name());
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw InvalidArgument(ops::op_prefix(call) + "rate must be in [0, 1), got " + std::to_string(rate));
  }
  if (!call.attrs.get_bool("training", call.name()) || rate == 0.0) return {identity(x)};
  const auto seed = static_cast<uint64_t>(call.attrs.get_int("seed", static_cast<int64_t>(next_random_seed()), call.name()));
  // 16-bit inputs draw their mask in float32 (the random ops make float32 and float64): the same
  // mask as a float32 input with the same seed.
  const DType draw = is_half(x.dtype()) ? DType::Float32 : x.dtype();
  Tensor keep;
  {
    DeviceScope here(call.device);
    keep = random_uniform(x.shape(), 0.0, 1.0, draw, seed) >= fill({}, rate, draw);
  }
  return {x * cast(keep, x.dtype()) * (1.0 / (1.0 - rate))};
}

void activation_op(const char* name, ForwardFn f, const char* doc) {
  define_op(name).inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).composite(f).doc(doc);
}

}  // namespace

LOOM_REGISTER_OPS(nn_activation) {
  define_op("erf").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).infer(ops::infer_same_as_input).grad(grad_erf).doc("error function");
  define_op("leaky_relu").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("alpha", 0.2).composite(forward_leaky_relu)
      .doc("x if x > 0 else alpha * x (alpha default 0.2)");
  define_op("elu").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("alpha", 1.0).composite(forward_elu)
      .doc("x if x > 0 else alpha * (exp(x) - 1)");
  define_op("gelu").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("approximate", false).composite(forward_gelu)
      .doc("x * Phi(x) (erf form; approximate = tanh form)");
  activation_op("softplus", forward_softplus, "log(1 + exp(x)), stable for large |x|");
  activation_op("silu", forward_silu, "x * sigmoid(x) (swish)");
  activation_op("hard_sigmoid", forward_hard_sigmoid, "clip(0.2 x + 0.5, 0, 1) (Keras 2)");
  define_op("dropout").inputs({"x"}).dtypes(kFloatTypes | kHalfTypes).attr("rate", AttrType::Float, true)
      .attr("training", true)
      .attr("seed", AttrType::Int).composite(forward_dropout)
      .doc("inverted dropout: zeroes with probability rate, scales the rest by 1 / (1 - rate)");
}

Tensor erf(const Tensor& x) { return call_op("erf", {x})[0]; }
Tensor leaky_relu(const Tensor& x, double alpha) { return call_op("leaky_relu", {x}, Attrs{{"alpha", alpha}})[0]; }
Tensor elu(const Tensor& x, double alpha) { return call_op("elu", {x}, Attrs{{"alpha", alpha}})[0]; }
Tensor gelu(const Tensor& x, bool approximate) { return call_op("gelu", {x}, Attrs{{"approximate", approximate}})[0]; }
Tensor softplus(const Tensor& x) { return call_op("softplus", {x})[0]; }
Tensor silu(const Tensor& x) { return call_op("silu", {x})[0]; }
Tensor hard_sigmoid(const Tensor& x) { return call_op("hard_sigmoid", {x})[0]; }

Tensor dropout(const Tensor& x, double rate, bool training, std::optional<uint64_t> seed) {
  Attrs attrs{{"rate", rate}, {"training", training}};
  if (seed) attrs.set("seed", static_cast<int64_t>(*seed));
  return call_op("dropout", {x}, attrs)[0];
}

Tensor activation(const Tensor& x, const std::string& name) {
  using Fn = Tensor (*)(const Tensor&);
  static const std::map<std::string, Fn> table = {
      {"relu", [](const Tensor& t) { return relu(t); }},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
      {"tanh", [](const Tensor& t) { return tanh(t); }},
      {"softmax", [](const Tensor& t) { return softmax(t); }},
      {"log_softmax", [](const Tensor& t) { return log_softmax(t); }},
      {"exp", [](const Tensor& t) { return exp(t); }},
      {"exponential", [](const Tensor& t) { return exp(t); }},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t); }},
      {"elu", [](const Tensor& t) { return elu(t); }},
      {"gelu", [](const Tensor& t) { return gelu(t); }},
      {"softplus", [](const Tensor& t) { return softplus(t); }},
      {"swish", [](const Tensor& t) { return silu(t); }},
      {"silu", [](const Tensor& t) { return silu(t); }},
      {"hard_sigmoid", [](const Tensor& t) { return hard_sigmoid(t); }},
  };
  if (name.empty() || name == "linear") return x;
  auto it = table.find(name);
  if (it == table.end()) {
    std::string known = "linear";
    for (const auto& [k, f] : table) known += ", " + k;
    throw InvalidArgument("[activation] unknown activation '" + name + "' (known: " + known + ")");
  }
  return it->second(x);
}

}  // namespace loom
