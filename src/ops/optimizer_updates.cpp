// Fused optimizer updates: one op gives a variable's new value and its new slots in one pass
// over memory. Written as ops, Adam's step is eleven elementwise ops per variable, each a pass
// and an allocation; that composite stays as the fallback for devices without a kernel.
#include "loom/ops.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

std::vector<TensorMeta> infer_adam_update(const OpCall& call) {
  ops::require_same_dtype(call);
  const Shape& shape = call.inputs[0].shape();
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    if (call.inputs[i].shape() != shape) {
      throw ShapeError(ops::op_prefix(call) + ops::input_name(call, i) + " has shape " + call.inputs[i].shape().str() +
                       ", the variable " + shape.str());
    }
  }
  const TensorMeta meta{shape, call.inputs[0].dtype()};
  return {meta, meta, meta};
}

// Keras' Adam: m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); w -= alpha m / (sqrt(v) + eps),
// alpha folding in the learning rate and bias corrections; AdamW first scales w by (1 - decay).
std::vector<Tensor> reference_adam_update(const OpCall& call) {
  const Tensor& w = call.inputs[0];
  const Tensor& m = call.inputs[1];
  const Tensor& v = call.inputs[2];
  const Tensor& g = call.inputs[3];
  const auto attr = [&](const char* name) { return call.attrs.get_float(name, call.name()); };
  const double decay = attr("decay");
  const Tensor decayed = decay > 0 ? w - w * decay : w;
  const Tensor m_new = m + (g - m) * (1 - attr("beta_1"));
  const Tensor v_new = v + (square(g) - v) * (1 - attr("beta_2"));
  return {decayed - m_new * attr("alpha") / (sqrt(v_new) + attr("epsilon")), m_new, v_new};
}

}  // namespace

LOOM_REGISTER_OPS(optimizer_updates) {
  define_op("adam_update").inputs({"variable", "m", "v", "gradient"}).dtypes(kFloatTypes | kHalfTypes)
      .attr("alpha", AttrType::Float, true).attr("beta_1", AttrType::Float, true).attr("beta_2", AttrType::Float, true)
      .attr("epsilon", AttrType::Float, true).attr("decay", 0.0).outputs({"variable", "m", "v"})
      .infer(infer_adam_update).fallback(reference_adam_update)
      .doc("one Adam step: m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2), "
           "variable = variable (1 - decay) - alpha m / (sqrt(v) + epsilon); returns the new variable, m and v");
}

}  // namespace loom
