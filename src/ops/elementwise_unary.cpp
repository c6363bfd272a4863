// Unary math ops: definitions, gradients (written with public ops) and the C++ API.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

const Tensor& x_of(const GradCall& g) { return g.inputs[0]; }
const Tensor& y_of(const GradCall& g) { return g.outputs[0]; }
const Tensor& g_of(const GradCall& g) { return g.grads[0]; }
Tensor mask_as(const Tensor& condition, const Tensor& like) { return cast(condition, like.dtype()); }

std::vector<Tensor> grad_neg(const GradCall& g) { return {neg(g_of(g))}; }
// abs'(0) = 0 (sign(0) = 0), as TF.
std::vector<Tensor> grad_abs(const GradCall& g) { return {mul(g_of(g), sign(x_of(g)))}; }
std::vector<Tensor> grad_sign(const GradCall& g) { return {zeros_like(g_of(g))}; }
std::vector<Tensor> grad_exp(const GradCall& g) { return {mul(g_of(g), y_of(g))}; }
std::vector<Tensor> grad_log(const GradCall& g) { return {div(g_of(g), x_of(g))}; }
std::vector<Tensor> grad_log1p(const GradCall& g) { return {div(g_of(g), x_of(g) + 1.0)}; }
std::vector<Tensor> grad_sqrt(const GradCall& g) { return {div(g_of(g) * 0.5, y_of(g))}; }
std::vector<Tensor> grad_rsqrt(const GradCall& g) {
  const Tensor& y = y_of(g);
  return {mul(g_of(g) * -0.5, mul(y, mul(y, y)))};
}
std::vector<Tensor> grad_square(const GradCall& g) { return {mul(g_of(g), x_of(g) * 2.0)}; }
std::vector<Tensor> grad_sin(const GradCall& g) { return {mul(g_of(g), cos(x_of(g)))}; }
std::vector<Tensor> grad_cos(const GradCall& g) { return {neg(mul(g_of(g), sin(x_of(g))))}; }
std::vector<Tensor> grad_tanh(const GradCall& g) {
  const Tensor& y = y_of(g);
  return {mul(g_of(g), 1.0 - mul(y, y))};
}
std::vector<Tensor> grad_sigmoid(const GradCall& g) {
  const Tensor& y = y_of(g);
  return {mul(g_of(g), mul(y, 1.0 - y))};
}
// relu'(0) = 0, as TF: one relu_grad pass (x > 0 exactly where relu(x) > 0).
std::vector<Tensor> grad_relu(const GradCall& g) { return {ops::relu_grad(g_of(g), x_of(g))}; }

// relu_grad's reference and derivative (TF's ReluGrad): dy where y > 0, else 0 (a select, so an
// infinite dy where y <= 0 gives 0, not NaN).
std::vector<Tensor> reference_relu_grad(const OpCall& call) {
  const Tensor& dy = call.inputs[0];
  const Tensor& y = call.inputs[1];
  return {where(greater(y, scalar_like(0.0, y)), dy, zeros_like(dy))};
}

std::vector<Tensor> grad_clip(const GradCall& g) {
  const Tensor& x = x_of(g);
  const double lo = g.attrs.get_float("min", g.name());
  const double hi = g.attrs.get_float("max", g.name());
  const Tensor inside = logical_and(greater_equal(x, scalar_like(lo, x)),
                                    less_equal(x, scalar_like(hi, x)));
  return {mul(g_of(g), mask_as(inside, x))};
}
std::vector<Tensor> grad_identity(const GradCall& g) { return {g_of(g)}; }

std::vector<TensorMeta> infer_clip(const OpCall& call) {
  const double lo = call.attrs.get_float("min", call.name());
  const double hi = call.attrs.get_float("max", call.name());
  if (lo > hi) {
    throw InvalidArgument(ops::op_prefix(call) + "min (" + std::to_string(lo) +
                          ") is greater than max (" + std::to_string(hi) + ")");
  }
  return ops::infer_same_as_input(call);
}

OpBuilder unary(const char* name, DTypeMask dtypes, GradFn grad, bool saves_input, bool saves_output, const char* doc) {
  OpBuilder b = define_op(name);
  b.inputs({"x"}).dtypes(dtypes).infer(ops::infer_same_as_input).grad(grad).saves(saves_input, saves_output).doc(doc);
  return b;
}

constexpr DTypeMask kSigned = kSignedNumeric | kHalfTypes;
constexpr DTypeMask kFloating = kFloatTypes | kHalfTypes;

}  // namespace

LOOM_REGISTER_OPS(elementwise_unary) {
  unary("neg", kSigned, grad_neg, false, false, "-x");
  unary("abs", kSigned, grad_abs, true, false, "|x|; gradient sign(x) (0 at 0)");
  unary("sign", kSigned, grad_sign, false, false, "-1, 0 or 1; gradient 0");
  unary("exp", kFloating, grad_exp, false, true, "e^x");
  unary("log", kFloating, grad_log, true, false, "natural logarithm");
  unary("log1p", kFloating, grad_log1p, true, false, "log(1 + x), accurate near 0");
  unary("sqrt", kFloating, grad_sqrt, false, true, "square root");
  unary("rsqrt", kFloating, grad_rsqrt, false, true, "1 / sqrt(x)");
  unary("square", kNumeric | kHalfTypes, grad_square, true, false, "x * x");
  unary("sin", kFloating, grad_sin, true, false, "sine");
  unary("cos", kFloating, grad_cos, true, false, "cosine");
  unary("tanh", kFloating, grad_tanh, false, true, "hyperbolic tangent");
  unary("sigmoid", kFloating, grad_sigmoid, false, true, "1 / (1 + e^-x), numerically stable");
  unary("relu", kSigned, grad_relu, true, false, "max(x, 0); gradient 0 at 0");
  define_op("relu_grad").inputs({"dy", "y"}).dtypes(kSigned).infer(ops::infer_broadcast_same_dtype).fallback(reference_relu_grad)
      .grad_through_fallback().doc("gradient of relu from its output (or input) y: dy where y > 0, else 0 (broadcasting)");
  unary("identity", kAllTypes, grad_identity, false, false, "a copy of x (contiguous); gradient identity")
      .reads_variables_exactly();  // Variable::read_value() reads the value as it is
  define_op("clip").inputs({"x"}).dtypes(kNumeric | kHalfTypes).attr("min", AttrType::Float, true).attr("max", AttrType::Float, true)
      .infer(infer_clip).grad(grad_clip).doc("min(max(x, min), max)");
}

#define LOOM_UNARY_API(fn, opname)                  \
  Tensor fn(const Tensor& x) {                      \
    static const OpDef& op = find_op(opname, #fn);  \
    return dispatch1(op, {x}, {});                  \
  }
LOOM_UNARY_API(neg, "neg")
LOOM_UNARY_API(abs, "abs")
LOOM_UNARY_API(sign, "sign")
LOOM_UNARY_API(exp, "exp")
LOOM_UNARY_API(log, "log")
LOOM_UNARY_API(log1p, "log1p")
LOOM_UNARY_API(sqrt, "sqrt")
LOOM_UNARY_API(rsqrt, "rsqrt")
LOOM_UNARY_API(square, "square")
LOOM_UNARY_API(sin, "sin")
LOOM_UNARY_API(cos, "cos")
LOOM_UNARY_API(tanh, "tanh")
LOOM_UNARY_API(sigmoid, "sigmoid")
LOOM_UNARY_API(relu, "relu")
LOOM_UNARY_API(identity, "identity")
#undef LOOM_UNARY_API

Tensor clip(const Tensor& x, double lo, double hi) {
  static const OpDef& op = find_op("clip", "clip");
  return dispatch1(op, {x}, Attrs{{"min", lo}, {"max", hi}});
}

Tensor operator-(const Tensor& x) { return neg(x); }

namespace ops {
Tensor relu_grad(const Tensor& dy, const Tensor& y) {
  static const OpDef& op = find_op("relu_grad", "relu_grad");
  return dispatch1(op, {dy, y}, {});
}
}  // namespace ops

}  // namespace loom
