// Model: compile, fit, evaluate, predict, and Sequential.
#include "loom/nn/model.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <optional>

#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"
#include "nn/data_parallel.hpp"
#include "nn/layer_config.hpp"
#include "nn/progress.hpp"

namespace loom::nn {
namespace {

using Batch = std::vector<Tensor>;

Batch take_rows(const Batch& ts, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  const Tensor indices = constant(std::vector<int64_t>(order.begin() + begin, order.begin() + end));
  Batch out;
  for (const Tensor& t : ts) out.push_back(gather(t, indices));
  return out;
}

Batch slice_rows(const Batch& ts, std::optional<int64_t> begin, std::optional<int64_t> end) {
  Batch out;
  for (const Tensor& t : ts) out.push_back(t[{Slice(begin, end)}]);
  return out;
}

std::string shapes_of(const Batch& ts) {
  std::string s;
  for (const Tensor& t : ts) s += (s.empty() ? "" : ", ") + (t.defined() ? t.shape().str() : std::string("(empty)"));
  return s;
}

// Every tensor of x and y has the same number of examples (first axis); returns it.
int64_t example_count(const std::string& model, const char* what, const Batch& x, const Batch& y) {
  if (x.empty()) throw InvalidArgument("[" + model + "." + what + "] x holds no tensor");
  for (const Batch* b : {&x, &y}) {
    for (const Tensor& t : *b) {
      if (!t.defined()) throw InvalidArgument("[" + model + "." + what + "] x or y holds an empty tensor handle");
    }
  }
  const auto first = [](const Tensor& t) { return t.rank() < 1 ? int64_t{-1} : t.dim(0); };
  const int64_t n = first(x[0]);
  bool ok = n >= 0;
  for (const Batch* b : {&x, &y}) {
    for (const Tensor& t : *b) ok = ok && first(t) == n;
  }
  if (!ok) {
    throw ShapeError("[" + model + "." + what + "] x " + shapes_of(x) + " and y " + shapes_of(y) +
                     " need the same number of examples (first axis)");
  }
  return n;
}

// "name" for a single output, "<output>_name" for each of several.
std::string log_key(const std::vector<std::string>& outputs, size_t i, const std::string& name) {
  return outputs.size() == 1 ? name : outputs[i] + "_" + name;
}

// Losses and metrics see 16-bit predictions (mixed precision) in float32.
Batch in_float32(Batch predictions) {
  for (Tensor& p : predictions) {
    if (is_half(p.dtype())) p = cast(p, DType::Float32);
  }
  return predictions;
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
  // float16 gradients underflow without it (Keras wraps the optimizer the same way).
  if (dtype_policy().compute_dtype() == DType::Float16 && !optimizer->scales_losses()) optimizer->set_loss_scaling(32768);
  optimizer_ = std::move(optimizer);
  loss_ = std::move(loss);
  metrics_ = std::move(metrics);
  output_metrics_.clear();
}

void Model::compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics) {
  std::vector<MetricPtr> m;
  for (const std::string& name : metrics) m.push_back(get_metric(name, loss));
  compile(get_optimizer(optimizer), get_loss(loss), std::move(m));
}

// One set of metrics per output: the compiled ones for the first, fresh copies for the others.
void Model::prepare_output_metrics(size_t outputs) {
  if (output_metrics_.size() == outputs) return;
  output_metrics_ = {metrics_};
  for (size_t i = 1; i < outputs; ++i) {
    std::vector<MetricPtr> copies;
    for (const MetricPtr& m : metrics_) {
      MetricPtr c = m->fresh();
      if (!c) fail("metric '" + m->name() + "' cannot be copied for the model's other outputs (it has no fresh())");
      copies.push_back(std::move(c));
    }
    output_metrics_.push_back(std::move(copies));
  }
}

std::vector<std::string> Model::metrics_names() const {
  const std::vector<std::string> outputs = output_names();
  std::vector<std::string> names{"loss"};
  if (outputs.size() > 1) {
    for (size_t i = 0; i < outputs.size(); ++i) names.push_back(log_key(outputs, i, "loss"));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (const MetricPtr& m : metrics_) names.push_back(log_key(outputs, i, m->name()));
  }
  return names;
}

struct Model::StepResult {
  double loss = 0;
  std::vector<double> output_losses;
};

// A step either completes or leaves every weight as it was (say, when memory runs out half-way):
// trainable weights change only in the optimizer's all-at-once commit, which comes last, and the
// others (BatchNorm's moving statistics, updated by the forward pass) are restored on failure.
Model::StepResult Model::step(const Batch& x, const Batch& y, double weight) {
  if (!compiled()) fail("compile() the model before training");
  const std::vector<Variable> frozen = non_trainable_weights();
  std::vector<Tensor> before;
  for (const Variable& v : frozen) before.push_back(v.read_value());
  try {
    GradientTape tape;
    const Batch y_pred = in_float32(call_outputs(x, x.size() > 1, true));
    if (y_pred.size() != y.size()) {
      fail("has " + std::to_string(y_pred.size()) + " output(s), but y holds " + std::to_string(y.size()) + " tensor(s)");
    }
    StepResult r;
    Tensor loss;
    for (size_t i = 0; i < y.size(); ++i) {
      const Tensor l = (*loss_)(y[i], y_pred[i]);
      loss = loss.defined() ? loss + cast(l, loss.dtype()) : l;
      r.output_losses.push_back(0);
      if (y.size() > 1) r.output_losses.back() = l.item<double>();
    }
    for (const Tensor& penalty : losses()) loss = loss + cast(penalty, loss.dtype());
    const std::vector<Variable> vars = trainable_weights();
    if (parallel_) parallel_->watch(tape);  // gradients average in buckets during the backward pass
    // With loss scaling (float16) the gradients are of the scaled loss; the optimizer unscales.
    const double scale = weight * optimizer_->loss_scale();
    std::vector<Tensor> grads =
        tape.gradient(scale == 1.0 ? loss : loss * scale, std::vector<Tensor>(vars.begin(), vars.end()));
    tape.stop();
    if (parallel_) grads = parallel_->finish();
    r.loss = loss.item<double>();
    NoGradGuard no_grad;
    prepare_output_metrics(y.size());
    for (size_t i = 0; i < y.size() && weight > 0; ++i) {
      for (const MetricPtr& m : output_metrics_[i]) m->update_state(y[i], y_pred[i]);
    }
    optimizer_->apply_gradients(grads, vars);
    return r;
  } catch (...) {
    if (parallel_) parallel_->abandon_step();
    NoGradGuard no_grad;
    for (size_t i = 0; i < frozen.size(); ++i) Variable(frozen[i]).assign(before[i]);
    throw;
  }
}

double Model::train_step(const Tensor& x, const Tensor& y) { return step({x}, {y}).loss; }
double Model::train_step(const Batch& x, const Batch& y) { return step(x, y).loss; }

// One pass over (x, y) in a seeded order, updating the progress bar after each step.
Logs Model::run_epoch(const Batch& x, const Batch& y, const FitOptions& o, int epoch, uint64_t seed, void* progress_bar) {
  auto& bar = *static_cast<nn::internal::ProgressBar*>(progress_bar);
  const int64_t n = x[0].dim(0);
  const int64_t steps = (n + o.batch_size - 1) / o.batch_size;
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (o.shuffle) order = data::seeded_permutation(n, seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(epoch + 1)));
  else std::iota(order.begin(), order.end(), 0);
  prepare_output_metrics(y.size());
  for (auto& set : output_metrics_) {
    for (const MetricPtr& m : set) m->reset_state();
  }
  const std::vector<std::string> outputs = output_names();
  double loss_sum = 0, seen = 0;
  std::vector<double> output_sums(y.size(), 0.0);
  Logs logs;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t b = s * o.batch_size, e = std::min(n, b + o.batch_size);
    // Alone: the whole batch; data-parallel: this rank's share of the global batch.
    const internal::DataParallelFit::Share share = parallel_ ? parallel_->share(b, e) : internal::DataParallelFit::Share{b, e, 1.0, e - b};
    const StepResult r = step(take_rows(x, order, share.first, share.last), take_rows(y, order, share.first, share.last), share.weight);
    const auto rows = static_cast<double>(share.examples);
    seen += rows;
    loss_sum += r.loss * rows;
    logs["loss"] = seen > 0 ? loss_sum / seen : 0.0;
    for (size_t i = 0; i < y.size() && y.size() > 1; ++i) {
      output_sums[i] += r.output_losses[i] * rows;
      logs[log_key(outputs, i, "loss")] = seen > 0 ? output_sums[i] / seen : 0.0;
    }
    for (size_t i = 0; i < y.size(); ++i) {
      for (const MetricPtr& m : output_metrics_[i]) logs[log_key(outputs, i, m->name())] = m->result();
    }
    if (parallel_) logs = parallel_->average(logs, seen);
    for (const CallbackPtr& c : o.callbacks) c->on_batch_end(*this, s, logs);
    bar.update(s + 1, logs);
  }
  return logs;
}

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& o) { return fit(Batch{x}, Batch{y}, o); }

History Model::fit(const Batch& x_all, const Batch& y_all, const FitOptions& o) {
  if (!compiled()) fail("compile() the model before fit()");
  const int64_t n_all = example_count(name(), "fit", x_all, y_all);
  if (o.batch_size < 1) fail("batch_size must be >= 1");
  if (o.validation_split < 0 || o.validation_split >= 1) fail("validation_split must be in [0, 1)");
  Batch x = x_all, y = y_all;
  std::optional<std::pair<Batch, Batch>> validation;
  if (o.validation_data) validation = {{Batch{o.validation_data->first}, Batch{o.validation_data->second}}};
  if (!validation && o.validation_split > 0) {  // Keras: the last fraction, taken before shuffling
    const auto n_val = static_cast<int64_t>(static_cast<double>(n_all) * o.validation_split);
    if (n_val < 1 || n_val >= n_all) fail("validation_split leaves no training or no validation examples");
    validation = {{slice_rows(x, n_all - n_val, None), slice_rows(y, n_all - n_val, None)}};
    x = slice_rows(x, None, n_all - n_val);
    y = slice_rows(y, None, n_all - n_val);
  }
  if (validation) example_count(name(), "fit (validation_data)", validation->first, validation->second);
  if (x[0].dim(0) == 0) fail("fit needs at least one example");
  // Data-parallel: every rank starts from rank 0's state, and only rank 0 writes files.
  std::optional<internal::DataParallelFit> parallel;
  std::optional<internal::OnlyRankZeroWrites> rank_zero_writes;
  if (o.strategy) {
    parallel.emplace(*this, *o.strategy, slice_rows(x, 0, 1));
    rank_zero_writes.emplace();
  }
  parallel_ = parallel ? &*parallel : nullptr;
  struct ParallelScope {  // parallel_ points at `parallel` during this fit only
    internal::DataParallelFit*& slot;
    ~ParallelScope() { slot = nullptr; }
  } scope{parallel_};
  // A fit resumed from a checkpoint shuffles as the interrupted one did, unless a seed is given.
  if (o.seed) fit_seed_ = *o.seed;
  else if (resumed_fit_seed_ && o.initial_epoch > 0) fit_seed_ = *resumed_fit_seed_;
  else fit_seed_ = next_random_seed();
  if (parallel_) fit_seed_ = parallel_->agree(fit_seed_);  // one shuffled order for all ranks
  resumed_fit_seed_.reset();
  const int verbose = parallel_ && parallel_->rank() != 0 ? 0 : o.verbose;
  History history;
  stop_training = false;
  for (const CallbackPtr& c : o.callbacks) c->on_train_begin(*this);
  for (int epoch = o.initial_epoch; epoch < o.epochs && !stop_training; ++epoch) {
    for (const CallbackPtr& c : o.callbacks) c->on_epoch_begin(*this, epoch);
    nn::internal::ProgressBar bar(epoch, o.epochs, (x[0].dim(0) + o.batch_size - 1) / o.batch_size, verbose);
    Logs logs = run_epoch(x, y, o, epoch, fit_seed_, &bar);
    if (validation) {
      // evaluate() resets the metrics: keep the training values first.
      for (const auto& [k, v] : validate(validation->first, validation->second, o.batch_size)) logs["val_" + k] = v;
    }
    bar.finish(logs);  // the epoch's final line, with the validation entries
    for (const auto& [k, v] : logs) history.history[k].push_back(v);
    for (const CallbackPtr& c : o.callbacks) c->on_epoch_end(*this, epoch, logs);
  }
  for (const CallbackPtr& c : o.callbacks) c->on_train_end(*this);
  return history;
}

// Alone: evaluate(); data-parallel: each rank evaluates its share, and the logs are averaged.
Logs Model::validate(const Batch& x, const Batch& y, int64_t batch_size) {
  if (!parallel_) return evaluate(x, y, batch_size);
  const internal::DataParallelFit::Share share = parallel_->share(0, x[0].dim(0));
  const Logs local = evaluate(slice_rows(x, share.first, share.last), slice_rows(y, share.first, share.last), batch_size);
  return parallel_->average(local, static_cast<double>(share.examples));
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, int64_t batch_size, int verbose) {
  return evaluate(Batch{x}, Batch{y}, batch_size, verbose);
}

Logs Model::evaluate(const Batch& x, const Batch& y, int64_t batch_size, int verbose) {
  if (!compiled()) fail("compile() the model before evaluate()");
  const int64_t n = example_count(name(), "evaluate", x, y);
  if (batch_size < 1) fail("batch_size must be >= 1");
  NoGradGuard no_grad;
  prepare_output_metrics(y.size());
  for (auto& set : output_metrics_) {
    for (const MetricPtr& m : set) m->reset_state();
  }
  const std::vector<std::string> outputs = output_names();
  double loss_sum = 0;
  std::vector<double> output_sums(y.size(), 0.0);
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t e = std::min(n, b + batch_size);
    const Batch xb = slice_rows(x, b, e), yb = slice_rows(y, b, e);
    const Batch y_pred = in_float32(call_outputs(xb, xb.size() > 1, false));
    if (y_pred.size() != yb.size()) {
      fail("has " + std::to_string(y_pred.size()) + " output(s), but y holds " + std::to_string(yb.size()) + " tensor(s)");
    }
    for (size_t i = 0; i < yb.size(); ++i) {
      const double l = (*loss_)(yb[i], y_pred[i]).item<double>() * static_cast<double>(e - b);
      loss_sum += l;
      output_sums[i] += l;
      for (const MetricPtr& m : output_metrics_[i]) m->update_state(yb[i], y_pred[i]);
    }
  }
  const double count = n ? static_cast<double>(n) : 1.0;
  Logs logs{{"loss", n ? loss_sum / count : 0.0}};
  for (size_t i = 0; i < y.size() && y.size() > 1; ++i) logs[log_key(outputs, i, "loss")] = output_sums[i] / count;
  for (size_t i = 0; i < y.size(); ++i) {
    for (const MetricPtr& m : output_metrics_[i]) logs[log_key(outputs, i, m->name())] = m->result();
  }
  if (verbose) std::printf("evaluate -%s\n", nn::internal::format_logs(logs).c_str());
  return logs;
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  const Batch out = predict_all(Batch{x}, batch_size);
  if (out.size() != 1) fail("has " + std::to_string(out.size()) + " outputs: use predict_all");
  return out[0];
}

Batch Model::predict_all(const Batch& x, int64_t batch_size) {
  if (x.empty() || !x[0].defined() || x[0].rank() < 1) fail("predict needs inputs with a batch axis");
  example_count(name(), "predict", x, {});
  if (batch_size < 1) fail("batch_size must be >= 1");
  NoGradGuard no_grad;
  std::vector<Batch> parts;
  const int64_t n = x[0].dim(0);
  for (int64_t b = 0; b < n; b += batch_size) parts.push_back(call_outputs(slice_rows(x, b, std::min(n, b + batch_size)), x.size() > 1, false));
  if (parts.empty()) fail("predict needs at least one example");
  Batch out;
  for (size_t i = 0; i < parts[0].size(); ++i) {
    Batch pieces;
    for (const Batch& p : parts) pieces.push_back(p[i]);
    out.push_back(pieces.size() == 1 ? pieces[0] : concat(pieces, 0));
  }
  return out;
}

LayerPtr Model::get_layer(size_t index) const {
  const std::vector<LayerPtr> all = layers();
  if (index >= all.size()) {
    throw InvalidArgument("[" + name() + ".get_layer] index " + std::to_string(index) + " is out of range (" +
                          std::to_string(all.size()) + " layers)");
  }
  return all[index];
}

LayerPtr Model::get_layer(const std::string& layer_name) const {
  for (const LayerPtr& l : layers()) {
    if (l->name() == layer_name) return l;
  }
  throw NotFoundError("[" + name() + ".get_layer] no layer named '" + layer_name + "'");
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
  build_for(s);  // marks this model built; its layers hold the weights
}

// With a declared input shape, a layer is built as it is added (Keras' Sequential after Input).
void Sequential::add(LayerPtr layer) {
  if (!layer) fail("add got an empty layer");
  if (declared_input_) layer->build_for(compute_output_shape(*declared_input_));
  track_layer(layer);
}

Tensor Sequential::call(const Tensor& x, bool training) {
  if (sublayers().empty()) fail("has no layers");
  const std::vector<LayerPtr>& layers = sublayers();
  Tensor h = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i + 1 < layers.size()) {
      if (auto fused = internal::max_pool_fusion(*layers[i], *layers[i + 1], h)) {
        h = std::move(*fused);
        ++i;
        continue;
      }
    }
    h = (*layers[i])(h, training);
  }
  return h;
}

Shape Sequential::compute_output_shape(const Shape& input_shape) {
  Shape s = input_shape;
  for (const LayerPtr& l : sublayers()) s = l->compute_output_shape(s);
  return s;
}

Attrs Sequential::get_config() const {
  Attrs config{{"name", name()}};
  if (const auto shape = declared_input_shape()) config.set("input_shape", shape->vec());
  return config;
}

std::optional<Shape> Sequential::declared_input_shape() const {
  if (!declared_input_) return std::nullopt;
  return Shape(declared_input_->data() + 1, declared_input_->size() - 1);
}

}  // namespace loom::nn
