// Binary arithmetic ops with NumPy broadcasting: definitions, gradients and the C++ API.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

using ops::sum_to;

TensorMeta meta_of(const GradCall& g, size_t i) { return g.input_metas[i]; }

std::vector<Tensor> grad_add(const GradCall& g) {
  return {sum_to(g.grads[0], meta_of(g, 0).shape), sum_to(g.grads[0], meta_of(g, 1).shape)};
}
std::vector<Tensor> grad_sub(const GradCall& g) {
  return {sum_to(g.grads[0], meta_of(g, 0).shape), sum_to(neg(g.grads[0]), meta_of(g, 1).shape)};
}
std::vector<Tensor> grad_mul(const GradCall& g) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  return {g.needs[0] ? sum_to(mul(g.grads[0], b), a.shape()) : Tensor(),
          g.needs[1] ? sum_to(mul(g.grads[0], a), b.shape()) : Tensor()};
}
std::vector<Tensor> grad_div(const GradCall& g) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  return {g.needs[0] ? sum_to(div(g.grads[0], b), a.shape()) : Tensor(),
          g.needs[1] ? sum_to(neg(div(mul(g.grads[0], a), mul(b, b))), b.shape()) : Tensor()};
}
// d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log(a), taken as 0 where a <= 0 (as TF).
std::vector<Tensor> grad_pow(const GradCall& g) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  Tensor ga, gb;
  if (g.needs[0]) ga = sum_to(mul(g.grads[0], mul(b, pow(a, b - 1.0))), a.shape());
  if (g.needs[1]) {
    const Tensor zero = scalar_like(0.0, a);
    const Tensor positive = greater(a, zero);
    const Tensor safe_log = where(positive, log(where(positive, a, ones_like(a))), zeros_like(a));
    gb = sum_to(mul(g.grads[0], mul(pow(a, b), safe_log)), b.shape());
  }
  return {ga, gb};
}
// Ties go to the first input (TF: maximum's gradient flows to x where x >= y).
std::vector<Tensor> grad_select(const GradCall& g, bool is_max) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  const Tensor pick_a = is_max ? greater_equal(a, b) : less_equal(a, b);
  const Tensor zero = zeros_like(g.grads[0]);
  return {sum_to(where(pick_a, g.grads[0], zero), a.shape()),
          sum_to(where(pick_a, zero, g.grads[0]), b.shape())};
}
std::vector<Tensor> grad_maximum(const GradCall& g) { return grad_select(g, true); }
std::vector<Tensor> grad_minimum(const GradCall& g) { return grad_select(g, false); }
// mod(a, b) = a - floor(a / b) * b.
std::vector<Tensor> grad_mod(const GradCall& g) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  return {sum_to(g.grads[0], a.shape()),
          g.needs[1] ? sum_to(neg(mul(g.grads[0], floor_div(a, b))), b.shape()) : Tensor()};
}

// Integer true division gives float64 (float32 from uint8), as TF's truediv.
std::vector<Tensor> forward_div(const OpCall& call) {
  static const OpDef& real_div = find_op("real_div");
  const Tensor& a = call.inputs[0];
  const Tensor& b = call.inputs[1];
  ops::require_same_dtype(call);
  if (is_integral(a.dtype())) {
    const DType to = a.dtype() == DType::UInt8 ? DType::Float32 : DType::Float64;
    return dispatch(real_div, {cast(a, to), cast(b, to)}, {});
  }
  return dispatch(real_div, {a, b}, {});
}

}  // namespace

LOOM_REGISTER_OPS(elementwise_binary) {
  define_op("add").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_add)
      .saves(false, false).doc("a + b, broadcasting");
  define_op("sub").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_sub)
      .saves(false, false).doc("a - b, broadcasting");
  define_op("mul").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_mul)
      .doc("a * b, broadcasting");
  define_op("real_div").inputs({"a", "b"}).dtypes(kFloatTypes | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_div)
      .doc("a / b for floating inputs, broadcasting");
  define_op("div").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).composite(forward_div)
      .doc("a / b; integer inputs are divided truly and give float64 (float32 for uint8)");
  define_op("floor_div").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype)
      .doc("floor(a / b); integer division by zero is an error");
  define_op("mod").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_mod)
      .doc("a - floor(a / b) * b (the result has the sign of b)");
  define_op("pow").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_pow)
      .doc("a ** b; integer powers need b >= 0");
  define_op("maximum").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_maximum)
      .doc("elementwise max; on ties the gradient goes to a");
  define_op("minimum").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(ops::infer_broadcast_same_dtype).grad(grad_minimum)
      .doc("elementwise min; on ties the gradient goes to a");
}

#define LOOM_BINARY_API(fn, opname)                         \
  Tensor fn(const Tensor& a, const Tensor& b) {             \
    static const OpDef& op = find_op(opname, #fn);          \
    return dispatch1(op, {a, b}, {});                       \
  }
LOOM_BINARY_API(add, "add")
LOOM_BINARY_API(sub, "sub")
LOOM_BINARY_API(mul, "mul")
LOOM_BINARY_API(div, "div")
LOOM_BINARY_API(floor_div, "floor_div")
LOOM_BINARY_API(mod, "mod")
LOOM_BINARY_API(pow, "pow")
LOOM_BINARY_API(maximum, "maximum")
LOOM_BINARY_API(minimum, "minimum")
#undef LOOM_BINARY_API

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator%(const Tensor& a, const Tensor& b) { return mod(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace loom
