// matmul: 2-D and batched with broadcast batch dims; transpose flags on the last two axes.
#include "ops/op_utils.hpp"

namespace loom {
namespace {

struct MatmulDims {
  int64_t m, k, n;
  Shape batch;
};

MatmulDims matmul_dims(const Shape& a, const Shape& b, bool ta, bool tb, const char* op) {
  if (a.rank() < 2 || b.rank() < 2) {
    throw ShapeError(std::string("[") + op + "] inputs must have rank >= 2, got " + a.str() +
                     " and " + b.str());
  }
  const int64_t am = a[a.size() - 2], ak = a.back();
  const int64_t bk = b[b.size() - 2], bn = b.back();
  MatmulDims d{ta ? ak : am, ta ? am : ak, tb ? bk : bn, {}};
  const int64_t k2 = tb ? bn : bk;
  if (d.k != k2) {
    throw ShapeError(std::string("[") + op + "] inner dimensions differ: " + a.str() +
                     (ta ? "ᵀ" : "") + " @ " + b.str() + (tb ? "ᵀ" : "") + " (" +
                     std::to_string(d.k) + " vs " + std::to_string(k2) + ")");
  }
  try {
    d.batch = broadcast_shapes(Shape(a.data(), a.size() - 2), Shape(b.data(), b.size() - 2), op);
  } catch (const ShapeError&) {  // name the operands, not their batch parts
    throw ShapeError(std::string("[") + op + "] the batch dimensions of " + a.str() + " and " + b.str() +
                     " do not broadcast (the leading axes before the last two)");
  }
  return d;
}

std::vector<TensorMeta> infer_matmul(const OpCall& call) {
  ops::require_same_dtype(call);
  const bool ta = call.attrs.get_bool("transpose_a", call.name());
  const bool tb = call.attrs.get_bool("transpose_b", call.name());
  MatmulDims d = matmul_dims(call.inputs[0].shape(), call.inputs[1].shape(), ta, tb, call.name());
  Shape out = d.batch;
  out.push_back(d.m);
  out.push_back(d.n);
  return {TensorMeta{out, call.inputs[0].dtype()}};
}

// C = op(A) op(B). dA = dC op(B)ᵀ (transposed back when ta), dB likewise; batch dims that were
// broadcast are summed back.
std::vector<Tensor> grad_matmul(const GradCall& g) {
  const Tensor& a = g.inputs[0];
  const Tensor& b = g.inputs[1];
  const Tensor& dc = g.grads[0];
  const bool ta = g.attrs.get_bool("transpose_a", g.name());
  const bool tb = g.attrs.get_bool("transpose_b", g.name());
  Tensor da, db;
  if (g.needs[0]) {
    da = ta ? matmul(b, dc, tb, true) : matmul(dc, b, false, !tb);
    da = ops::sum_to(da, a.shape());
  }
  if (g.needs[1]) {
    db = tb ? matmul(dc, a, true, ta) : matmul(a, dc, !ta, false);
    db = ops::sum_to(db, b.shape());
  }
  return {da, db};
}

}  // namespace

LOOM_REGISTER_OPS(matmul) {
  define_op("matmul").inputs({"a", "b"}).dtypes(kFloatTypes | kHalfTypes | mask_of({DType::Int32, DType::Int64}))
      .attr("transpose_a", false).attr("transpose_b", false).infer(infer_matmul).grad(grad_matmul)
      .doc("matrix product of the last two axes; leading axes broadcast");
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  static const OpDef& op = find_op("matmul", "matmul");
  Attrs attrs;
  if (transpose_a) attrs.set("transpose_a", true);
  if (transpose_b) attrs.set("transpose_b", true);
  return dispatch1(op, {a, b}, attrs);
}

}  // namespace loom
