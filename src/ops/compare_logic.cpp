// Comparisons, logic and where: definitions, gradients and the C++ API.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

std::vector<TensorMeta> infer_where(const OpCall& call) {
  const Tensor& x = call.inputs[1];
  const Tensor& y = call.inputs[2];
  if (x.dtype() != y.dtype()) {
    throw DTypeError(ops::op_prefix(call) + "x and y must have one dtype, got " +
                     dtype_name(x.dtype()) + " and " + dtype_name(y.dtype()));
  }
  return {TensorMeta{ops::broadcast_inputs(call), x.dtype()}};
}

std::vector<Tensor> grad_where(const GradCall& g) {
  const Tensor& cond = g.inputs[0];
  const Tensor& grad = g.grads[0];
  const Tensor zero = zeros_like(grad);
  return {Tensor(), ops::sum_to(where(cond, grad, zero), g.input_metas[1].shape),
          ops::sum_to(where(cond, zero, grad), g.input_metas[2].shape)};
}

}  // namespace

LOOM_REGISTER_OPS(compare_logic) {
  for (const char* name : {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}) {
    define_op(name).inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes | kBoolType).infer(ops::infer_broadcast_bool)
        .doc("elementwise comparison -> bool");
  }
  define_op("logical_and").inputs({"a", "b"}).dtypes(kBoolType).infer(ops::infer_broadcast_bool)
      .doc("a && b on bool tensors");
  define_op("logical_or").inputs({"a", "b"}).dtypes(kBoolType).infer(ops::infer_broadcast_bool)
      .doc("a || b on bool tensors");
  define_op("logical_not").inputs({"x"}).dtypes(kBoolType).infer(ops::infer_broadcast_bool).doc("!x on a bool tensor");
  define_op("where").inputs({"condition", "x", "y"}).input_dtypes(0, kBoolType).infer(infer_where).grad(grad_where)
      .nondiff({0})
      .doc("condition ? x : y, elementwise with broadcasting");
}

#define LOOM_COMPARE_API(fn, opname, sym)                      \
  Tensor fn(const Tensor& a, const Tensor& b) {                \
    static const OpDef& op = find_op(opname, #fn);             \
    return dispatch1(op, {a, b}, {});                          \
  }                                                            \
  Tensor operator sym(const Tensor& a, const Tensor& b) { return fn(a, b); }
LOOM_COMPARE_API(equal, "equal", ==)
LOOM_COMPARE_API(not_equal, "not_equal", !=)
LOOM_COMPARE_API(less, "less", <)
LOOM_COMPARE_API(less_equal, "less_equal", <=)
LOOM_COMPARE_API(greater, "greater", >)
LOOM_COMPARE_API(greater_equal, "greater_equal", >=)
LOOM_COMPARE_API(logical_and, "logical_and", &&)
LOOM_COMPARE_API(logical_or, "logical_or", ||)
#undef LOOM_COMPARE_API

Tensor logical_not(const Tensor& x) {
  static const OpDef& op = find_op("logical_not", "logical_not");
  return dispatch1(op, {x}, {});
}
Tensor operator!(const Tensor& x) { return logical_not(x); }

Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y) {
  static const OpDef& op = find_op("where", "where");
  return dispatch1(op, {condition, x, y}, {});
}

}  // namespace loom
