// loom_op_schema: an op's schema as JSON text, so that bindings generate and check their calls.
#include <nlohmann/json.hpp>

#include "errors.hpp"
#include "loom/op_schema.hpp"

using namespace loom::capi;

namespace {

nlohmann::json attr_value_json(const loom::AttrValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, loom::DType>) {
          return loom::dtype_name(v);
        } else {
          return v;
        }
      },
      value);
}

std::string schema_json(const loom::OpSchema& s) {
  nlohmann::json inputs = nlohmann::json::array(), attrs = nlohmann::json::array();
  for (const loom::OpInputSchema& in : s.inputs) {
    nlohmann::json dtypes = nlohmann::json::array();
    for (loom::DType d : in.dtypes) dtypes.push_back(loom::dtype_name(d));
    inputs.push_back({{"name", in.name}, {"dtypes", dtypes}});
  }
  for (const loom::OpAttrSchema& a : s.attrs) {
    nlohmann::json attr = {{"name", a.name}, {"type", loom::attr_type_name(a.type)}, {"required", a.required}};
    if (a.default_value) attr["default"] = attr_value_json(*a.default_value);
    attrs.push_back(attr);
  }
  return nlohmann::json{{"name", s.name},
                        {"doc", s.doc},
                        {"inputs", inputs},
                        {"min_inputs", s.min_inputs},
                        {"max_inputs", s.max_inputs},
                        {"attrs", attrs},
                        {"outputs", s.outputs},
                        {"variadic_outputs", s.variadic_outputs},
                        {"differentiable", s.differentiable}}
      .dump();
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_op_schema(const char* name, char* buffer, size_t capacity, size_t* needed) {
  return guarded("loom_op_schema", [&] {
    const std::string json = schema_json(loom::op_schema(string_arg(name, "name")));
    if (needed) *needed = json.size() + 1;
    if (buffer == nullptr && capacity == 0 && needed) return;  // a size query
    copy_out(json, buffer, capacity);
  });
}

}  // extern "C"
