// Op schemas: the registry's facts about each op, for the public API and the C ABI.
#include "loom/op_schema.hpp"

#include "ops/registry.hpp"

namespace loom {
namespace {

std::vector<DType> dtypes_of(DTypeMask mask) {
  std::vector<DType> out;
  for (int i = 0; i < kNumDTypes; ++i) {
    if (mask & (1u << i)) out.push_back(static_cast<DType>(i));
  }
  return out;
}

}  // namespace

OpSchema op_schema(std::string_view name) {
  const OpDef& def = find_op(name, "op_schema");
  if (def.internal) throw NotFoundError("[op_schema] op '" + std::string(name) + "' is internal to loom");
  OpSchema s;
  s.name = def.name;
  s.doc = def.doc;
  for (const InputSpec& in : def.input_specs) s.inputs.push_back(OpInputSchema{in.name, dtypes_of(in.dtypes)});
  s.min_inputs = def.min_inputs;
  s.max_inputs = def.max_inputs;
  for (const AttrSpec& a : def.attrs) s.attrs.push_back(OpAttrSchema{a.name, a.type, a.required, a.default_value});
  s.outputs = def.outputs;
  s.variadic_outputs = def.variadic_outputs;
  s.differentiable = def.differentiable();
  return s;
}

}  // namespace loom
