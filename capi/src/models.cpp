// Layers, Sequential models (compile / fit / evaluate / predict / weights) and optimizers.
#include <mutex>

#include "errors.hpp"
#include "handles.hpp"
#include "loom/nn/callbacks.hpp"
#include "loom/nn/config.hpp"
#include "loom/nn/metrics.hpp"

using namespace loom::capi;

namespace {

const loom::Tensor& tensor_arg(const loom_tensor* t, const char* argument) { return live(t, argument).value; }
const loom::Attrs& attrs_or_empty(const loom_attrs* attrs) {
  static const loom::Attrs empty;
  return attrs ? live(attrs, "attrs").value : empty;
}
std::string indexed(const char* name, size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

// The names and values of a callback's logs, valid while it runs.
struct LogArrays {
  explicit LogArrays(const loom::nn::Logs& logs) {
    for (const auto& [name, value] : logs) {
      names.push_back(name.c_str());
      values.push_back(value);
    }
  }
  int32_t count() const { return static_cast<int32_t>(names.size()); }
  std::vector<const char*> names;
  std::vector<double> values;
};

std::vector<loom::Tensor> tensor_list(const loom_tensor* const* ts, int32_t n, const char* name) {
  count_arg(ts, n, name, (std::string("n_") + name).c_str());
  require(n > 0, std::string(name) + " holds no tensor");
  std::vector<loom::Tensor> out;
  for (int32_t i = 0; i < n; ++i) out.push_back(tensor_arg(ts[i], indexed(name, static_cast<size_t>(i)).c_str()));
  return out;
}

// Marks the model as fitting on this thread while alive, so that its callbacks may use it.
class FitInProgress {
 public:
  explicit FitInProgress(loom_model& m) : m_(m) { m_.fit_thread.store(std::this_thread::get_id()); }
  ~FitInProgress() { m_.fit_thread.store(std::thread::id()); }
  FitInProgress(const FitInProgress&) = delete;
  FitInProgress& operator=(const FitInProgress&) = delete;

 private:
  loom_model& m_;
};

void fit_model(loom_model* model, const std::vector<loom::Tensor>& x, const std::vector<loom::Tensor>& y,
               const loom_attrs* options, std::vector<loom::nn::CallbackPtr> callbacks, double* loss_history,
               int32_t capacity, int32_t* epochs_run) {
  count_arg(loss_history, capacity, "loss_history", "capacity");
  loom::Attrs config = attrs_or_empty(options);
  if (!config.has("verbose")) config.set("verbose", int64_t{0});  // no progress bar on a host's stdout unless asked
  loom::nn::FitOptions fit = loom::nn::fit_options_from_config(config);
  fit.callbacks = std::move(callbacks);
  loom_model& handle = live(model, "model");
  require(handle.fit_thread.load() != std::this_thread::get_id(),
          "fit is already running on model '" + handle.value->name() + "' (called from one of its own callbacks)");
  with_model(model, false, [&](loom::nn::Model& m) {
    const FitInProgress fitting(handle);
    const loom::nn::History history = m.fit(x, y, fit);
    const auto it = history.history.find("loss");
    if (it != history.history.end()) {
      for (size_t i = 0; i < it->second.size() && i < static_cast<size_t>(capacity); ++i) loss_history[i] = it->second[i];
    }
    if (epochs_run) *epochs_run = history.epochs_run();
  });
}

void evaluate_model(loom_model* model, const std::vector<loom::Tensor>& x, const std::vector<loom::Tensor>& y,
                    int64_t batch_size, double* values, int32_t capacity, int32_t* count) {
  count_arg(values, capacity, "values", "capacity");
  with_model(model, false, [&](loom::nn::Model& m) {
    const loom::nn::Logs logs = m.evaluate(x, y, batch_size, 0);
    const std::vector<std::string> names = m.metrics_names();
    require(names.size() <= static_cast<size_t>(capacity),
            "evaluate gives " + std::to_string(names.size()) + " values but capacity is " + std::to_string(capacity));
    for (size_t i = 0; i < names.size(); ++i) values[i] = logs.at(names[i]);
    if (count) *count = static_cast<int32_t>(names.size());
  });
}

void write_variables(const std::vector<loom::Variable>& vars, loom_variable** out, int32_t capacity, int32_t* count) {
  count_arg(out, capacity, "out", "capacity");
  require(vars.size() <= static_cast<size_t>(capacity),
          "the model has " + std::to_string(vars.size()) + " variables but capacity is " + std::to_string(capacity));
  for (int32_t i = 0; i < capacity; ++i) out[i] = nullptr;
  for (size_t i = 0; i < vars.size(); ++i) out[i] = new_handle<loom_variable>(vars[i]);
  if (count) *count = static_cast<int32_t>(vars.size());
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_layer_new(const char* type, const loom_attrs* attrs, loom_layer** out) {
  return guarded("loom_layer_new", [&] {
    loom_layer*& result = out_param(out, "out");
    result = new_handle<loom_layer>(loom::nn::layer_from_config(string_arg(type, "type"), attrs_or_empty(attrs)));
  });
}

LOOM_CAPI void loom_layer_release(loom_layer* layer) { release_handle(layer, "loom_layer_release"); }

LOOM_CAPI loom_status loom_layer_name(const loom_layer* layer, char* buffer, size_t capacity) {
  return guarded("loom_layer_name", [&] { copy_out(live(layer, "layer").value->name(), buffer, capacity); });
}

LOOM_CAPI loom_status loom_layer_call(loom_layer* layer, const loom_tensor* x, int32_t training, loom_tensor** out) {
  return tensor_result("loom_layer_call", out,
                       [&] { return (*live(layer, "layer").value)(tensor_arg(x, "x"), training != 0); });
}

LOOM_CAPI loom_status loom_layer_weight_count(const loom_layer* layer, int32_t* out) {
  return guarded("loom_layer_weight_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(live(layer, "layer").value->weights().size());
  });
}

LOOM_CAPI loom_status loom_layer_weight(const loom_layer* layer, int32_t index, loom_variable** out) {
  return guarded("loom_layer_weight", [&] {
    loom_variable*& result = out_param(out, "out");
    const std::vector<loom::Variable> weights = live(layer, "layer").value->weights();
    require(index >= 0 && static_cast<size_t>(index) < weights.size(),
            "index " + std::to_string(index) + " is out of range: the layer has " + std::to_string(weights.size()) +
                " weights");
    result = new_handle<loom_variable>(weights[static_cast<size_t>(index)]);
  });
}

LOOM_CAPI loom_status loom_sequential_new(const int64_t* input_shape, int32_t rank, const char* name, loom_model** out) {
  return guarded("loom_sequential_new", [&] {
    loom_model*& result = out_param(out, "out");
    auto handle = std::make_unique<loom_model>();
    const std::string model_name = name ? name : "";
    handle->value = input_shape ? std::make_shared<loom::nn::Sequential>(
                                      std::vector<loom::nn::LayerPtr>{}, shape_arg(input_shape, rank, "input_shape"),
                                      model_name)
                                : std::make_shared<loom::nn::Sequential>(std::vector<loom::nn::LayerPtr>{}, model_name);
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI loom_status loom_sequential_add(loom_model* model, loom_layer* layer) {
  return guarded("loom_sequential_add", [&] {
    loom::nn::LayerPtr l = live(layer, "layer").value;
    with_model(model, false, [&](loom::nn::Model& m) {
      auto* seq = dynamic_cast<loom::nn::Sequential*>(&m);
      require(seq != nullptr, "model '" + m.name() + "' is not a Sequential model (layers are added to functional models "
                                                     "with loom_layer_apply)");
      seq->add(l);
    });
  });
}

LOOM_CAPI void loom_model_release(loom_model* model) { release_handle(model, "loom_model_release"); }

LOOM_CAPI loom_status loom_model_layer_count(const loom_model* model, int32_t* out) {
  return guarded("loom_model_layer_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(live(model, "model").value->layers().size());
  });
}

LOOM_CAPI loom_status loom_model_get_layer(const loom_model* model, int32_t index, loom_layer** out) {
  return guarded("loom_model_get_layer", [&] {
    loom_layer*& result = out_param(out, "out");
    require(index >= 0, "index must be >= 0, got " + std::to_string(index));
    result = new_handle<loom_layer>(live(model, "model").value->get_layer(static_cast<size_t>(index)));
  });
}

LOOM_CAPI loom_status loom_model_get_layer_by_name(const loom_model* model, const char* name, loom_layer** out) {
  return guarded("loom_model_get_layer_by_name", [&] {
    loom_layer*& result = out_param(out, "out");
    result = new_handle<loom_layer>(live(model, "model").value->get_layer(std::string(string_arg(name, "name"))));
  });
}

LOOM_CAPI loom_status loom_model_call(loom_model* model, const loom_tensor* x, int32_t training, loom_tensor** out) {
  return tensor_result("loom_model_call", out, [&] {
    const loom::Tensor& input = tensor_arg(x, "x");
    loom::Tensor y;
    with_model(model, training == 0, [&](loom::nn::Model& m) { y = m(input, training != 0); });
    return y;
  });
}

LOOM_CAPI loom_status loom_model_trainable_variables(const loom_model* model, loom_variable** out, int32_t capacity,
                                                     int32_t* count) {
  return guarded("loom_model_trainable_variables", [&] {
    write_variables(live(model, "model").value->trainable_weights(), out, capacity, count);
  });
}

LOOM_CAPI loom_status loom_model_weight_count(const loom_model* model, int32_t* out) {
  return guarded("loom_model_weight_count", [&] {
    value_out(out, "out") = static_cast<int32_t>(live(model, "model").value->weights().size());
  });
}

LOOM_CAPI loom_status loom_model_get_weights(const loom_model* model, loom_tensor** out, int32_t capacity) {
  return guarded("loom_model_get_weights", [&] {
    count_arg(out, capacity, "out", "capacity");
    for (int32_t i = 0; i < capacity; ++i) out[i] = nullptr;
    const std::vector<loom::Tensor> values = live(model, "model").value->get_weights();
    require(values.size() <= static_cast<size_t>(capacity),
            "the model has " + std::to_string(values.size()) + " weights but capacity is " + std::to_string(capacity));
    for (size_t i = 0; i < values.size(); ++i) out[i] = new_handle<loom_tensor>(values[i]);
  });
}

LOOM_CAPI loom_status loom_model_set_weights(loom_model* model, const loom_tensor* const* values, int32_t count) {
  return guarded("loom_model_set_weights", [&] {
    count_arg(values, count, "values", "count");
    std::vector<loom::Tensor> ts;
    for (int32_t i = 0; i < count; ++i) ts.push_back(tensor_arg(values[i], indexed("values", i).c_str()));
    with_model(model, false, [&](loom::nn::Model& m) { m.set_weights(ts); });
  });
}

LOOM_CAPI loom_status loom_model_compile(loom_model* model, const char* optimizer, const loom_attrs* optimizer_attrs,
                                         const char* loss, const loom_attrs* loss_attrs, const char* const* metrics,
                                         int32_t n_metrics) {
  return guarded("loom_model_compile", [&] {
    auto opt = loom::nn::optimizer_from_config(string_arg(optimizer, "optimizer"), attrs_or_empty(optimizer_attrs));
    const std::string loss_name = string_arg(loss, "loss");
    auto loss_fn = loom::nn::loss_from_config(loss_name, attrs_or_empty(loss_attrs));
    count_arg(metrics, n_metrics, "metrics", "n_metrics");
    std::vector<loom::nn::MetricPtr> ms;
    for (int32_t i = 0; i < n_metrics; ++i) {
      ms.push_back(loom::nn::get_metric(string_arg(metrics[i], indexed("metrics", i).c_str()), loss_name));
    }
    with_model(model, false, [&](loom::nn::Model& m) { m.compile(opt, loss_fn, ms); });
  });
}

LOOM_CAPI loom_status loom_model_fit(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                     const loom_attrs* options, loom_epoch_callback callback, void* user,
                                     double* loss_history, int32_t capacity, int32_t* epochs_run) {
  return guarded("loom_model_fit", [&] {
    std::vector<loom::nn::CallbackPtr> callbacks;
    if (callback) {
      auto cb = std::make_shared<loom::nn::LambdaCallback>();
      cb->epoch_end = [callback, user](loom::nn::Model& m, int epoch, const loom::nn::Logs& logs) {
        const LogArrays arrays(logs);
        if (callback(user, epoch, arrays.names.data(), arrays.values.data(), arrays.count()) != 0) m.stop_training = true;
      };
      callbacks.push_back(cb);
    }
    fit_model(model, {tensor_arg(x, "x")}, {tensor_arg(y, "y")}, options, std::move(callbacks), loss_history, capacity,
              epochs_run);
  });
}

LOOM_CAPI loom_status loom_model_fit_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                            const loom_tensor* const* y, int32_t n_y, const loom_attrs* options,
                                            const loom_fit_callbacks* callbacks, double* loss_history, int32_t capacity,
                                            int32_t* epochs_run) {
  return guarded("loom_model_fit_arrays", [&] {
    std::vector<loom::nn::CallbackPtr> cbs;
    if (callbacks) {
      require(callbacks->struct_size >= sizeof(loom_fit_callbacks),
              "callbacks->struct_size is " + std::to_string(callbacks->struct_size) +
                  ", expected sizeof(loom_fit_callbacks) = " + std::to_string(sizeof(loom_fit_callbacks)));
      const loom_fit_callbacks c = *callbacks;
      auto cb = std::make_shared<loom::nn::LambdaCallback>();
      // A callback's non-zero return stops training; its errors (a failing call inside it)
      // are its own to report.
      if (c.epoch_end) {
        cb->epoch_end = [c, model](loom::nn::Model& m, int epoch, const loom::nn::Logs& logs) {
          const LogArrays arrays(logs);
          if (c.epoch_end(c.user, model, epoch, arrays.names.data(), arrays.values.data(), arrays.count()) != 0) {
            m.stop_training = true;
          }
        };
      }
      if (c.batch_end) {
        cb->batch_end = [c, model](loom::nn::Model& m, int64_t batch, const loom::nn::Logs& logs) {
          const LogArrays arrays(logs);
          if (c.batch_end(c.user, model, batch, arrays.names.data(), arrays.values.data(), arrays.count()) != 0) {
            m.stop_training = true;
          }
        };
      }
      cbs.push_back(cb);
    }
    fit_model(model, tensor_list(x, n_x, "x"), tensor_list(y, n_y, "y"), options, std::move(cbs), loss_history, capacity,
              epochs_run);
  });
}

LOOM_CAPI loom_status loom_model_evaluate(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                          int64_t batch_size, double* values, int32_t capacity, int32_t* count) {
  return guarded("loom_model_evaluate", [&] {
    evaluate_model(model, {tensor_arg(x, "x")}, {tensor_arg(y, "y")}, batch_size, values, capacity, count);
  });
}

LOOM_CAPI loom_status loom_model_evaluate_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                                 const loom_tensor* const* y, int32_t n_y, int64_t batch_size,
                                                 double* values, int32_t capacity, int32_t* count) {
  return guarded("loom_model_evaluate_arrays", [&] {
    evaluate_model(model, tensor_list(x, n_x, "x"), tensor_list(y, n_y, "y"), batch_size, values, capacity, count);
  });
}

LOOM_CAPI loom_status loom_model_metric_count(const loom_model* model, int32_t* out) {
  return guarded("loom_model_metric_count", [&] {
    const loom::nn::Model& m = *live(model, "model").value;
    require(m.compiled(), "model '" + m.name() + "' is not compiled");
    value_out(out, "out") = static_cast<int32_t>(m.metrics_names().size());
  });
}

LOOM_CAPI loom_status loom_model_metric_name(const loom_model* model, int32_t index, char* buffer, size_t capacity) {
  return guarded("loom_model_metric_name", [&] {
    const loom::nn::Model& m = *live(model, "model").value;
    const std::vector<std::string> names = m.compiled() ? m.metrics_names() : std::vector<std::string>{"loss"};
    require(index >= 0 && static_cast<size_t>(index) < names.size(),
            "index " + std::to_string(index) + " is out of range: evaluate gives " + std::to_string(names.size()) + " value(s)");
    copy_out(names[static_cast<size_t>(index)], buffer, capacity);
  });
}

LOOM_CAPI loom_status loom_model_predict(loom_model* model, const loom_tensor* x, int64_t batch_size, loom_tensor** out) {
  return tensor_result("loom_model_predict", out, [&] {
    const loom::Tensor& xs = tensor_arg(x, "x");
    loom::Tensor y;
    with_model(model, true, [&](loom::nn::Model& m) { y = m.predict(xs, batch_size); });
    return y;
  });
}

LOOM_CAPI loom_status loom_model_predict_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                                int64_t batch_size, loom_tensor** outputs, int32_t capacity,
                                                int32_t* n_outputs) {
  return guarded("loom_model_predict_arrays", [&] {
    count_arg(outputs, capacity, "outputs", "capacity");
    for (int32_t i = 0; i < capacity; ++i) outputs[i] = nullptr;
    const std::vector<loom::Tensor> xs = tensor_list(x, n_x, "x");
    std::vector<loom::Tensor> ys;
    with_model(model, true, [&](loom::nn::Model& m) { ys = m.predict_all(xs, batch_size); });
    require(ys.size() <= static_cast<size_t>(capacity),
            "the model has " + std::to_string(ys.size()) + " outputs but capacity is " + std::to_string(capacity));
    for (size_t i = 0; i < ys.size(); ++i) outputs[i] = new_handle<loom_tensor>(ys[i]);
    if (n_outputs) *n_outputs = static_cast<int32_t>(ys.size());
  });
}

LOOM_CAPI loom_status loom_model_stop_training(loom_model* model) {
  return guarded("loom_model_stop_training", [&] { live(model, "model").value->stop_training = true; });
}

LOOM_CAPI loom_status loom_model_set_learning_rate(loom_model* model, double learning_rate) {
  return guarded("loom_model_set_learning_rate", [&] {
    with_model(model, false, [&](loom::nn::Model& m) {
      require(m.compiled(), "model '" + m.name() + "' is not compiled: it has no optimizer yet");
      m.optimizer()->set_learning_rate(learning_rate);
    });
  });
}

LOOM_CAPI loom_status loom_model_get_learning_rate(const loom_model* model, double* out) {
  return guarded("loom_model_get_learning_rate", [&] {
    const loom::nn::Model& m = *live(model, "model").value;
    require(m.compiled(), "model '" + m.name() + "' is not compiled: it has no optimizer yet");
    value_out(out, "out") = m.optimizer()->current_learning_rate();
  });
}

LOOM_CAPI loom_status loom_model_save_weights(const loom_model* model, const char* path) {
  return guarded("loom_model_save_weights", [&] {
    const char* file = string_arg(path, "path");
    with_model(const_cast<loom_model*>(model), true, [&](loom::nn::Model& m) { m.save_weights(file); });
  });
}

LOOM_CAPI loom_status loom_model_load_weights(loom_model* model, const char* path, int32_t strict) {
  return guarded("loom_model_load_weights", [&] {
    const char* file = string_arg(path, "path");
    with_model(model, false, [&](loom::nn::Model& m) { m.load_weights(file, strict != 0); });
  });
}

LOOM_CAPI loom_status loom_optimizer_new(const char* name, const loom_attrs* attrs, loom_optimizer** out) {
  return guarded("loom_optimizer_new", [&] {
    loom_optimizer*& result = out_param(out, "out");
    result = new_handle<loom_optimizer>(loom::nn::optimizer_from_config(string_arg(name, "name"), attrs_or_empty(attrs)));
  });
}

LOOM_CAPI void loom_optimizer_release(loom_optimizer* optimizer) { release_handle(optimizer, "loom_optimizer_release"); }

LOOM_CAPI loom_status loom_optimizer_loss_scale(const loom_optimizer* optimizer, double* out) {
  return guarded("loom_optimizer_loss_scale", [&] { value_out(out, "out") = live(optimizer, "optimizer").value->loss_scale(); });
}

LOOM_CAPI loom_status loom_optimizer_apply_gradients(loom_optimizer* optimizer, const loom_tensor* const* grads,
                                                     loom_variable* const* variables, int32_t count) {
  return guarded("loom_optimizer_apply_gradients", [&] {
    loom::nn::Optimizer& opt = *live(optimizer, "optimizer").value;
    count_arg(grads, count, "grads", "count");
    count_arg(variables, count, "variables", "count");
    std::vector<loom::Tensor> gs;
    std::vector<loom::Variable> vs;
    for (int32_t i = 0; i < count; ++i) {
      gs.push_back(grads[i] ? tensor_arg(grads[i], indexed("grads", i).c_str()) : loom::Tensor());
      vs.push_back(live(variables[i], indexed("variables", i).c_str()).value);
    }
    opt.apply_gradients(gs, vs);
  });
}

}  // extern "C"
