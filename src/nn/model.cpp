// Model: compile, fit, evaluate, predict, and Sequential.
#include "loom/nn/model.hpp"

#include <algorithm>
#include <numeric>

#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"
#include "nn/progress.hpp"

namespace loom::nn {
namespace {


Tensor rows(const Tensor& t, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  return gather(t, constant(std::vector<int64_t>(order.begin() + begin, order.begin() + end)));
}

void check_pair(const std::string& model, const char* what, const Tensor& x, const Tensor& y) {
  if (!x.defined() || !y.defined()) throw InvalidArgument("[" + model + "." + what + "] x or y is an empty tensor handle");
  if (x.rank() < 1 || y.rank() < 1 || x.dim(0) != y.dim(0)) {
    throw ShapeError("[" + model + "." + what + "] x " + x.shape().str() + " and y " + y.shape().str() +
                     " need the same number of examples (first axis)");
  }
}

// One pass over (x, y) in a seeded order, updating the progress bar after each step.
Logs run_epoch(Model& model, const Tensor& x, const Tensor& y, const FitOptions& o, int epoch, uint64_t seed,
               nn::internal::ProgressBar& bar) {
  const int64_t n = x.dim(0);
  const int64_t steps = (n + o.batch_size - 1) / o.batch_size;
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (o.shuffle) order = data::seeded_permutation(n, seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(epoch + 1)));
  else std::iota(order.begin(), order.end(), 0);
  for (const MetricPtr& m : model.metrics()) m->reset_state();
  double loss_sum = 0;
  Logs logs;
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t b = step * o.batch_size, e = std::min(n, b + o.batch_size);
    const double loss = model.train_step(rows(x, order, b, e), rows(y, order, b, e));
    loss_sum += loss * static_cast<double>(e - b);
    logs["loss"] = loss_sum / static_cast<double>(e);
    for (const MetricPtr& m : model.metrics()) logs[m->name()] = m->result();
    for (const CallbackPtr& c : o.callbacks) c->on_batch_end(model, step, logs);
    bar.update(step + 1, logs);
  }
  return logs;
}

}  // namespace

int History::epochs_run() const {
  auto it = history.find("loss");
  return it == history.end() ? 0 : static_cast<int>(it->second.size());
}

Model::Model(std::string name) : Layer("model", std::move(name)) {}
Model::~Model() = default;

void Model::compile(OptimizerPtr optimizer, LossPtr loss, std::vector<MetricPtr> metrics) {
  if (!optimizer || !loss) fail("compile needs an optimizer and a loss");
  optimizer_ = std::move(optimizer);
  loss_ = std::move(loss);
  metrics_ = std::move(metrics);
}

void Model::compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics) {
  std::vector<MetricPtr> m;
  for (const std::string& name : metrics) m.push_back(get_metric(name, loss));
  compile(get_optimizer(optimizer), get_loss(loss), std::move(m));
}

// A step either completes or leaves every weight as it was (say, when memory runs out half-way):
// trainable weights change only in the optimizer's all-at-once commit, which comes last, and the
// others (BatchNorm's moving statistics, updated by the forward pass) are restored on failure.
double Model::train_step(const Tensor& x, const Tensor& y) {
  if (!compiled()) fail("compile() the model before training");
  const std::vector<Variable> frozen = non_trainable_weights();
  std::vector<Tensor> before;
  for (const Variable& v : frozen) before.push_back(v.read_value());
  try {
    GradientTape tape;
    const Tensor y_pred = (*this)(x, true);
    Tensor loss = (*loss_)(y, y_pred);
    for (const Tensor& penalty : losses()) loss = loss + cast(penalty, loss.dtype());
    const std::vector<Variable> vars = trainable_weights();
    const std::vector<Tensor> grads = tape.gradient(loss, std::vector<Tensor>(vars.begin(), vars.end()));
    tape.stop();
    const double value = loss.item<double>();
    NoGradGuard no_grad;
    for (const MetricPtr& m : metrics_) m->update_state(y, y_pred);
    optimizer_->apply_gradients(grads, vars);
    return value;
  } catch (...) {
    NoGradGuard no_grad;
    for (size_t i = 0; i < frozen.size(); ++i) Variable(frozen[i]).assign(before[i]);
    throw;
  }
}

History Model::fit(const Tensor& x_all, const Tensor& y_all, const FitOptions& o) {
  if (!compiled()) fail("compile() the model before fit()");
  check_pair(name(), "fit", x_all, y_all);
  if (o.batch_size < 1) fail("batch_size must be >= 1");
  if (o.validation_split < 0 || o.validation_split >= 1) fail("validation_split must be in [0, 1)");
  Tensor x = x_all, y = y_all;
  std::optional<std::pair<Tensor, Tensor>> validation = o.validation_data;
  if (!validation && o.validation_split > 0) {  // Keras: the last fraction, taken before shuffling
    const int64_t n = x.dim(0);
    const auto n_val = static_cast<int64_t>(static_cast<double>(n) * o.validation_split);
    if (n_val < 1 || n_val >= n) fail("validation_split leaves no training or no validation examples");
    validation = {{x[{Slice(n - n_val, None)}], y[{Slice(n - n_val, None)}]}};
    x = x[{Slice(None, n - n_val)}];
    y = y[{Slice(None, n - n_val)}];
  }
  if (validation) check_pair(name(), "fit (validation_data)", validation->first, validation->second);
  if (x.dim(0) == 0) fail("fit needs at least one example");
  const uint64_t seed = o.seed ? *o.seed : next_random_seed();
  History history;
  stop_training = false;
  for (const CallbackPtr& c : o.callbacks) c->on_train_begin(*this);
  for (int epoch = o.initial_epoch; epoch < o.epochs && !stop_training; ++epoch) {
    for (const CallbackPtr& c : o.callbacks) c->on_epoch_begin(*this, epoch);
    nn::internal::ProgressBar bar(epoch, o.epochs, (x.dim(0) + o.batch_size - 1) / o.batch_size, o.verbose);
    Logs logs = run_epoch(*this, x, y, o, epoch, seed, bar);
    if (validation) {
      // evaluate() resets the metrics: keep the training values first.
      for (const auto& [k, v] : evaluate(validation->first, validation->second, o.batch_size)) logs["val_" + k] = v;
    }
    bar.finish(logs);  // the epoch's final line, with the validation entries
    for (const auto& [k, v] : logs) history.history[k].push_back(v);
    for (const CallbackPtr& c : o.callbacks) c->on_epoch_end(*this, epoch, logs);
  }
  for (const CallbackPtr& c : o.callbacks) c->on_train_end(*this);
  return history;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, int64_t batch_size, int verbose) {
  if (!compiled()) fail("compile() the model before evaluate()");
  check_pair(name(), "evaluate", x, y);
  if (batch_size < 1) fail("batch_size must be >= 1");
  NoGradGuard no_grad;
  for (const MetricPtr& m : metrics_) m->reset_state();
  const int64_t n = x.dim(0);
  double loss_sum = 0;
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t e = std::min(n, b + batch_size);
    const Tensor xb = x[{Slice(b, e)}], yb = y[{Slice(b, e)}];
    const Tensor y_pred = (*this)(xb, false);
    loss_sum += (*loss_)(yb, y_pred).item<double>() * static_cast<double>(e - b);
    for (const MetricPtr& m : metrics_) m->update_state(yb, y_pred);
  }
  Logs logs{{"loss", n ? loss_sum / static_cast<double>(n) : 0.0}};
  for (const MetricPtr& m : metrics_) logs[m->name()] = m->result();
  if (verbose) std::printf("evaluate -%s\n", nn::internal::format_logs(logs).c_str());
  return logs;
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  if (!x.defined() || x.rank() < 1) fail("predict needs inputs with a batch axis");
  if (batch_size < 1) fail("batch_size must be >= 1");
  NoGradGuard no_grad;
  std::vector<Tensor> outs;
  const int64_t n = x.dim(0);
  for (int64_t b = 0; b < n; b += batch_size) outs.push_back((*this)(x[{Slice(b, std::min(n, b + batch_size))}], false));
  if (outs.empty()) fail("predict needs at least one example");
  return outs.size() == 1 ? outs[0] : concat(outs, 0);
}

Sequential::Sequential(std::vector<LayerPtr> layers, std::string name) : Model("sequential", std::move(name)) {
  for (LayerPtr& l : layers) add(std::move(l));
}

Sequential::Sequential(std::vector<LayerPtr> layers, const Shape& input_shape, std::string name)
    : Model("sequential", std::move(name)) {
  Shape s{-1};
  for (int64_t d : input_shape) s.push_back(d);
  declared_input_ = s;
  for (LayerPtr& l : layers) add(std::move(l));
  build_for(Shape{});  // marks this model built; its layers hold the weights
}

// With a declared input shape, a layer is built as it is added (Keras' Sequential after Input).
void Sequential::add(LayerPtr layer) {
  if (!layer) fail("add got an empty layer");
  if (declared_input_) layer->build_for(compute_output_shape(*declared_input_));
  track_layer(layer);
}

LayerPtr Sequential::get_layer(size_t index) const {
  if (index >= sublayers().size()) {
    throw InvalidArgument("[" + name() + ".get_layer] index " + std::to_string(index) + " is out of range (" +
                          std::to_string(sublayers().size()) + " layers)");
  }
  return sublayers()[index];
}

LayerPtr Sequential::get_layer(const std::string& layer_name) const {
  for (const LayerPtr& l : sublayers()) {
    if (l->name() == layer_name) return l;
  }
  throw NotFoundError("[" + name() + ".get_layer] no layer named '" + layer_name + "'");
}

Tensor Sequential::call(const Tensor& x, bool training) {
  if (sublayers().empty()) fail("has no layers");
  Tensor h = x;
  for (const LayerPtr& l : sublayers()) h = (*l)(h, training);
  return h;
}

Shape Sequential::compute_output_shape(const Shape& input_shape) {
  Shape s = input_shape;
  for (const LayerPtr& l : sublayers()) s = l->compute_output_shape(s);
  return s;
}

}  // namespace loom::nn
