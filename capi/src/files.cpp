// Files from C: whole models, training checkpoints, safetensors as named tensors, IDX and
// MNIST directories.
#include "errors.hpp"
#include "handles.hpp"
#include "loom/data.hpp"

using namespace loom::capi;

namespace {

const loom::NamedTensors& contents(const loom_named_tensors* t) { return live(t, "tensors").value; }

template <class Map>
const std::string& key_at(const Map& map, int32_t index, const char* what) {
  require(index >= 0 && static_cast<size_t>(index) < map.size(),
          "index " + std::to_string(index) + " is out of range: there are " + std::to_string(map.size()) + " " + what);
  auto it = map.begin();
  std::advance(it, index);
  return it->first;
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_model_save(const loom_model* model, const char* path) {
  return guarded("loom_model_save", [&] {
    const char* file = string_arg(path, "path");
    with_model(const_cast<loom_model*>(model), true, [&](loom::nn::Model& m) { m.save(file); });
  });
}

LOOM_CAPI loom_status loom_model_save_as(const loom_model* model, const char* path, int32_t weights_dtype) {
  return guarded("loom_model_save_as", [&] {
    const char* file = string_arg(path, "path");
    const loom::DType dtype = dtype_arg(weights_dtype);
    with_model(const_cast<loom_model*>(model), true, [&](loom::nn::Model& m) { m.save(file, dtype); });
  });
}

LOOM_CAPI loom_status loom_model_load(const char* path, int32_t compile, loom_model** out) {
  return guarded("loom_model_load", [&] {
    loom_model*& result = out_param(out, "out");
    auto handle = std::make_unique<loom_model>();
    handle->value = loom::nn::load_model(string_arg(path, "path"), compile != 0);
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI loom_status loom_model_save_checkpoint(const loom_model* model, const char* path, int32_t epoch) {
  return guarded("loom_model_save_checkpoint", [&] {
    require(epoch >= 0, "epoch must be >= 0, got " + std::to_string(epoch));
    const char* file = string_arg(path, "path");
    with_model(const_cast<loom_model*>(model), true, [&](loom::nn::Model& m) { m.save_checkpoint(file, epoch); });
  });
}

LOOM_CAPI loom_status loom_model_load_checkpoint(loom_model* model, const char* path, int32_t* next_epoch) {
  return guarded("loom_model_load_checkpoint", [&] {
    const char* file = string_arg(path, "path");
    with_model(model, false, [&](loom::nn::Model& m) {
      const int next = m.load_checkpoint(file);
      if (next_epoch) *next_epoch = next;
    });
  });
}

LOOM_CAPI loom_status loom_named_tensors_new(loom_named_tensors** out) {
  return guarded("loom_named_tensors_new", [&] { out_param(out, "out") = new_handle<loom_named_tensors>(loom::NamedTensors{}); });
}

LOOM_CAPI void loom_named_tensors_release(loom_named_tensors* tensors) {
  release_handle(tensors, "loom_named_tensors_release");
}

LOOM_CAPI loom_status loom_safetensors_load(const char* path, loom_named_tensors** out) {
  return guarded("loom_safetensors_load", [&] {
    loom_named_tensors*& result = out_param(out, "out");
    result = new_handle<loom_named_tensors>(loom::load_safetensors(string_arg(path, "path")));
  });
}

LOOM_CAPI loom_status loom_safetensors_save(const char* path, const loom_named_tensors* tensors) {
  return guarded("loom_safetensors_save", [&] { loom::save_safetensors(string_arg(path, "path"), contents(tensors)); });
}

LOOM_CAPI loom_status loom_named_tensors_count(const loom_named_tensors* tensors, int32_t* out) {
  return guarded("loom_named_tensors_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(contents(tensors).tensors.size());
  });
}

LOOM_CAPI loom_status loom_named_tensors_name(const loom_named_tensors* tensors, int32_t index, char* buffer, size_t capacity) {
  return guarded("loom_named_tensors_name", [&] { copy_out(key_at(contents(tensors).tensors, index, "tensors"), buffer, capacity); });
}

LOOM_CAPI loom_status loom_named_tensors_get(const loom_named_tensors* tensors, const char* name, loom_tensor** out) {
  return tensor_result("loom_named_tensors_get", out, [&] {
    const auto& map = contents(tensors).tensors;
    const auto it = map.find(string_arg(name, "name"));
    if (it == map.end()) throw loom::NotFoundError(std::string("no tensor named '") + name + "'");
    return it->second;
  });
}

LOOM_CAPI loom_status loom_named_tensors_set(loom_named_tensors* tensors, const char* name, const loom_tensor* tensor) {
  return guarded("loom_named_tensors_set", [&] {
    const loom::Tensor& t = live(tensor, "tensor").value;
    live(tensors, "tensors").value.tensors[string_arg(name, "name")] = t;
  });
}

LOOM_CAPI loom_status loom_named_tensors_metadata_count(const loom_named_tensors* tensors, int32_t* out) {
  return guarded("loom_named_tensors_metadata_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(contents(tensors).metadata.size());
  });
}

LOOM_CAPI loom_status loom_named_tensors_metadata_key(const loom_named_tensors* tensors, int32_t index, char* buffer,
                                                      size_t capacity) {
  return guarded("loom_named_tensors_metadata_key", [&] {
    copy_out(key_at(contents(tensors).metadata, index, "metadata entries"), buffer, capacity);
  });
}

LOOM_CAPI loom_status loom_named_tensors_metadata_get(const loom_named_tensors* tensors, const char* key, char* buffer,
                                                      size_t capacity, size_t* needed) {
  return guarded("loom_named_tensors_metadata_get", [&] {
    const auto& map = contents(tensors).metadata;
    const auto it = map.find(string_arg(key, "key"));
    if (it == map.end()) throw loom::NotFoundError(std::string("no metadata entry '") + key + "'");
    if (needed) *needed = it->second.size() + 1;
    if (buffer == nullptr && capacity == 0 && needed) return;
    copy_out(it->second, buffer, capacity);
  });
}

LOOM_CAPI loom_status loom_named_tensors_metadata_set(loom_named_tensors* tensors, const char* key, const char* value) {
  return guarded("loom_named_tensors_metadata_set", [&] {
    live(tensors, "tensors").value.metadata[string_arg(key, "key")] = string_arg(value, "value");
  });
}

LOOM_CAPI loom_status loom_idx_save(const char* path, const loom_tensor* tensor) {
  return guarded("loom_idx_save", [&] { loom::data::write_idx(string_arg(path, "path"), live(tensor, "tensor").value); });
}

LOOM_CAPI loom_status loom_mnist_load(const char* dir, loom_tensor** x_train, loom_tensor** y_train, loom_tensor** x_test,
                                      loom_tensor** y_test) {
  return guarded("loom_mnist_load", [&] {
    loom_tensor** outs[] = {x_train, y_train, x_test, y_test};
    const char* names[] = {"x_train", "y_train", "x_test", "y_test"};
    for (int i = 0; i < 4; ++i) out_param(outs[i], names[i]);
    const loom::data::MnistData d = loom::data::load_mnist(string_arg(dir, "dir"));
    const loom::Tensor values[] = {d.x_train, d.y_train, d.x_test, d.y_test};
    for (int i = 0; i < 4; ++i) *outs[i] = new_handle<loom_tensor>(values[i]);
  });
}

}  // extern "C"
