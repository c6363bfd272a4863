// Custom layers written in C: a registered table of callbacks behind a loom::nn::Layer, so that
// they work in Sequential and functional models, in fit, and in saved model files.
#include "callbacks.hpp"
#include "errors.hpp"
#include "handles.hpp"
#include "loom/nn/config.hpp"
#include "loom/nn/initializers.hpp"

using namespace loom::capi;

namespace {

// A registered type. It outlives every layer made from it (they hold it), and its user data is
// freed when the type is replaced and its last layer is gone, never at exit (a host language's
// runtime may be gone by then).
struct LayerType {
  std::string name;
  loom_layer_type callbacks{};
  ~LayerType() {
    if (callbacks.destroy_type) callbacks.destroy_type(callbacks.type_user);
  }
};

// The layer's own handle, shown to its callbacks as `self` and released when they return.
class SelfHandle {
 public:
  explicit SelfHandle(loom::nn::Layer& layer) : handle_(new_handle<loom_layer>(layer.shared_from_this())) {}
  ~SelfHandle() { release_handle(handle_, "custom layer callback"); }
  SelfHandle(const SelfHandle&) = delete;
  SelfHandle& operator=(const SelfHandle&) = delete;
  loom_layer* get() const { return handle_; }

 private:
  loom_layer* handle_;
};

class CLayer final : public loom::nn::Layer {
 public:
  CLayer(std::shared_ptr<const LayerType> type, void* state, std::string name)
      : Layer(type->name, std::move(name)), type_(std::move(type)), state_(state) {}
  ~CLayer() override {
    if (type_->callbacks.destroy) type_->callbacks.destroy(state_);
  }

  void build(const loom::Shape& input_shape) override {
    if (!type_->callbacks.build) return;
    loom::Shape shape = input_shape;
    if (!shape.empty()) shape[0] = -1;  // the batch size is not part of what is built
    const SelfHandle self(*this);
    const CallbackReport report("[" + name() + "] build");
    report.check(type_->callbacks.build(state_, self.get(), shape.data(), shape.rank()));
  }
  void build(const std::vector<loom::Shape>& input_shapes) override {
    if (input_shapes.empty()) fail("is called on no inputs");
    build(input_shapes[0]);
  }

  loom::Tensor call(const loom::Tensor& x, bool training) override { return call(std::vector<loom::Tensor>{x}, training); }
  loom::Tensor call(const std::vector<loom::Tensor>& xs, bool training) override {
    const SelfHandle self(*this);
    const CallbackHandles inputs(xs);
    loom_tensor* result = nullptr;
    const CallbackReport report("[" + name() + "] call");
    const int32_t status = type_->callbacks.call(state_, self.get(), inputs.data(), inputs.size(), training ? 1 : 0, &result);
    std::vector<loom::Tensor> out = adopt_results({result}, status == 0 ? 1 : 0, false);
    report.check(status);
    return out[0];
  }

  std::string type_name() const override { return type_->name; }
  loom::Attrs get_config() const override { return loom::Attrs{{"name", name()}, {"config_json", config_json()}}; }

  loom::Variable add_c_weight(const std::string& weight, const loom::Shape& shape, loom::nn::InitializerPtr init,
                              bool trainable, loom::DType dtype) {
    return add_weight(weight, shape, std::move(init), nullptr, trainable, dtype);
  }

 private:
  std::string config_json() const {
    const auto get = type_->callbacks.get_config;
    if (!get) return "{}";
    size_t needed = 0;
    const CallbackReport report("[" + name() + "] get_config");
    report.check(get(state_, nullptr, 0, &needed));
    if (needed == 0) return "{}";
    std::string text(needed, '\0');
    report.check(get(state_, text.data(), text.size(), &needed));
    text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
    return text;
  }

  std::shared_ptr<const LayerType> type_;
  void* state_;
};

loom::nn::LayerPtr make_layer(const std::shared_ptr<const LayerType>& type, const loom::Attrs& config) {
  const std::string json = config.get_string("config_json", "{}", type->name.c_str());
  void* state = nullptr;
  const CallbackReport report("[" + type->name + "] create");
  report.check(type->callbacks.create(type->callbacks.type_user, json.c_str(), &state));
  return std::make_shared<CLayer>(type, state, config.get_string("name", "", type->name.c_str()));
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_register_layer_type(const char* type_name, const loom_layer_type* type) {
  return guarded("loom_register_layer_type", [&] {
    const std::string name = string_arg(type_name, "type_name");
    require(type != nullptr, "type is NULL");
    require(type->struct_size >= sizeof(loom_layer_type),
            "type->struct_size is " + std::to_string(type->struct_size) + ", expected sizeof(loom_layer_type) = " +
                std::to_string(sizeof(loom_layer_type)));
    require(type->create != nullptr && type->call != nullptr, "type->create and type->call are required");
    auto entry = std::make_shared<LayerType>();
    entry->name = name;
    entry->callbacks = *type;
    // The C++ registry checks the name first; the type's user data is not ours until it succeeds.
    const loom_layer_type callbacks = entry->callbacks;
    entry->callbacks.destroy_type = nullptr;
    std::shared_ptr<const LayerType> shared = entry;
    loom::nn::register_layer_type(name, [shared](const loom::Attrs& config) { return make_layer(shared, config); });
    entry->callbacks.destroy_type = callbacks.destroy_type;
  });
}

LOOM_CAPI loom_status loom_layer_new_custom(const char* type_name, const char* config_json, const char* name,
                                            loom_layer** out) {
  return guarded("loom_layer_new_custom", [&] {
    loom_layer*& result = out_param(out, "out");
    const loom::Attrs config{{"config_json", std::string(config_json ? config_json : "{}")},
                             {"name", std::string(name ? name : "")}};
    result = new_handle<loom_layer>(loom::nn::layer_from_config(string_arg(type_name, "type_name"), config));
  });
}

LOOM_CAPI loom_status loom_layer_add_weight(loom_layer* self, const char* name, const int64_t* shape, int32_t rank,
                                            int32_t dtype, const char* initializer, int32_t trainable,
                                            loom_variable** out) {
  return guarded("loom_layer_add_weight", [&] {
    loom_variable*& result = out_param(out, "out");
    const loom::nn::LayerPtr layer = live(self, "self").value;
    auto* custom = dynamic_cast<CLayer*>(layer.get());
    require(custom != nullptr, "layer '" + layer->name() + "' is not a custom layer written in C (loom_register_layer_type)");
    const auto init = loom::nn::get_initializer(initializer ? initializer : "glorot_uniform");
    result = new_handle<loom_variable>(
        custom->add_c_weight(string_arg(name, "name"), shape_arg(shape, rank, "shape"), init, trainable != 0, dtype_arg(dtype)));
  });
}

LOOM_CAPI loom_status loom_layer_track(loom_layer* self, loom_layer* sublayer) {
  return guarded("loom_layer_track", [&] {
    const loom::nn::LayerPtr layer = live(self, "self").value;
    const loom::nn::LayerPtr sub = live(sublayer, "sublayer").value;
    require(dynamic_cast<CLayer*>(layer.get()) != nullptr,
            "layer '" + layer->name() + "' is not a custom layer written in C (loom_register_layer_type)");
    for (const loom::nn::LayerPtr& known : layer->sublayers()) {
      if (known == sub) return;  // tracked already (a callback may run twice)
    }
    layer->track_layer(sub);
  });
}

LOOM_CAPI loom_status loom_set_error(loom_status status, const char* message) {
  return record_failure("callback", status == LOOM_OK ? LOOM_ERROR_CALLBACK : status, message ? message : "(no message)");
}

}  // extern "C"
