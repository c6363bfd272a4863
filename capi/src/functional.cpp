// Functional models from C: symbolic inputs, layers applied to symbolic tensors, models from
// inputs and outputs, models used as layers, summaries.
#include "errors.hpp"
#include "handles.hpp"

using namespace loom::capi;

namespace {

std::vector<loom::nn::SymbolicTensor> symbolic_list(const loom_symbolic* const* xs, int32_t n, const char* name) {
  count_arg(xs, n, name, (std::string("n_") + name).c_str());
  require(n > 0, std::string(name) + " holds no symbolic tensor");
  std::vector<loom::nn::SymbolicTensor> out;
  for (int32_t i = 0; i < n; ++i) {
    out.push_back(live(xs[i], (std::string(name) + "[" + std::to_string(i) + "]").c_str()).value);
  }
  return out;
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_input_new(const int64_t* shape, int32_t rank, int32_t dtype, const char* name, loom_symbolic** out) {
  return guarded("loom_input_new", [&] {
    loom_symbolic*& result = out_param(out, "out");
    result = new_handle<loom_symbolic>(loom::nn::Input(shape_arg(shape, rank, "shape"), dtype_arg(dtype), name ? name : ""));
  });
}

LOOM_CAPI void loom_symbolic_release(loom_symbolic* symbolic) { release_handle(symbolic, "loom_symbolic_release"); }

LOOM_CAPI loom_status loom_symbolic_shape(const loom_symbolic* symbolic, int64_t* dims, int32_t capacity, int32_t* rank) {
  return guarded("loom_symbolic_shape", [&] {
    const loom::Shape& s = live(symbolic, "symbolic").value.shape();
    count_arg(dims, capacity, "dims", "capacity");
    for (int32_t i = 0; i < capacity && i < s.rank(); ++i) dims[i] = s[i];
    if (rank) *rank = s.rank();
  });
}

LOOM_CAPI loom_status loom_symbolic_dtype(const loom_symbolic* symbolic, int32_t* out) {
  return guarded("loom_symbolic_dtype", [&] {
    value_out(out, "out") = static_cast<int32_t>(live(symbolic, "symbolic").value.dtype());
  });
}

LOOM_CAPI loom_status loom_layer_apply(loom_layer* layer, const loom_symbolic* const* inputs, int32_t n_inputs,
                                       loom_symbolic** outputs, int32_t capacity, int32_t* n_outputs) {
  return guarded("loom_layer_apply", [&] {
    count_arg(outputs, capacity, "outputs", "capacity");
    for (int32_t i = 0; i < capacity; ++i) outputs[i] = nullptr;
    const loom::nn::LayerPtr l = live(layer, "layer").value;
    const auto ys = loom::nn::apply(l, symbolic_list(inputs, n_inputs, "inputs"));
    require(ys.size() <= static_cast<size_t>(capacity),
            "layer '" + l->name() + "' gives " + std::to_string(ys.size()) + " outputs but capacity is " + std::to_string(capacity));
    for (size_t i = 0; i < ys.size(); ++i) outputs[i] = new_handle<loom_symbolic>(ys[i]);
    if (n_outputs) *n_outputs = static_cast<int32_t>(ys.size());
  });
}

LOOM_CAPI loom_status loom_model_new(const loom_symbolic* const* inputs, int32_t n_inputs,
                                     const loom_symbolic* const* outputs, int32_t n_outputs, const char* name,
                                     loom_model** out) {
  return guarded("loom_model_new", [&] {
    loom_model*& result = out_param(out, "out");
    auto handle = std::make_unique<loom_model>();
    handle->value = std::make_shared<loom::nn::Functional>(symbolic_list(inputs, n_inputs, "inputs"),
                                                           symbolic_list(outputs, n_outputs, "outputs"), name ? name : "");
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI loom_status loom_model_as_layer(loom_model* model, loom_layer** out) {
  return guarded("loom_model_as_layer", [&] {
    loom_layer*& result = out_param(out, "out");
    result = new_handle<loom_layer>(loom::nn::LayerPtr(live(model, "model").value));
  });
}

LOOM_CAPI loom_status loom_model_summary(loom_model* model, char* buffer, size_t capacity, size_t* needed) {
  return guarded("loom_model_summary", [&] {
    const std::string text = live(model, "model").value->summary();
    if (needed) *needed = text.size() + 1;
    if (buffer == nullptr && capacity == 0 && needed) return;
    copy_out(text, buffer, capacity);
  });
}

LOOM_CAPI loom_status loom_model_input_count(const loom_model* model, int32_t* out) {
  return guarded("loom_model_input_count", [&] {
    const auto* f = dynamic_cast<const loom::nn::Functional*>(live(model, "model").value.get());
    value_out(out, "out") = f ? static_cast<int32_t>(f->inputs().size()) : 1;
  });
}

LOOM_CAPI loom_status loom_model_output_count(const loom_model* model, int32_t* out) {
  return guarded("loom_model_output_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(live(model, "model").value->output_names().size());
  });
}

}  // extern "C"
