// Other frameworks' model files from C: ONNX export and import. (Keras' HDF5 weight files go
// through loom_model_save_weights / loom_model_load_weights with a .h5 path.)
#include "errors.hpp"
#include "handles.hpp"
#include "loom/interop.hpp"

using namespace loom::capi;

extern "C" {

LOOM_CAPI loom_status loom_onnx_export(const loom_model* model, const char* path, int32_t opset) {
  return guarded("loom_onnx_export", [&] {
    const char* file = string_arg(path, "path");
    with_model(const_cast<loom_model*>(model), true,
               [&](loom::nn::Model& m) { loom::nn::export_onnx(m, file, opset == 0 ? loom::nn::kOnnxMinOpset : opset); });
  });
}

LOOM_CAPI loom_status loom_onnx_import(const char* path, loom_model** out) {
  return guarded("loom_onnx_import", [&] {
    loom_model*& result = out_param(out, "out");
    auto handle = std::make_unique<loom_model>();
    handle->value = loom::nn::import_onnx(string_arg(path, "path"));
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI loom_status loom_onnx_import_operators(char* buffer, size_t capacity, size_t* needed) {
  return guarded("loom_onnx_import_operators", [&] {
    std::string text;
    for (const std::string& op : loom::nn::onnx_import_operators()) text += (text.empty() ? "" : ",") + op;
    if (needed) *needed = text.size() + 1;
    if (buffer == nullptr && capacity == 0 && needed) return;
    copy_out(text, buffer, capacity);
  });
}

}  // extern "C"
