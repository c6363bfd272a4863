#include "loom/nn/layer.hpp"

#include <map>
#include <mutex>
#include <functional>
#include <set>

#include "loom/autocast.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::nn {
namespace {

// "dense", "dense_1", "dense_2", ... per kind, as Keras names layers.
std::string unique_name(const std::string& kind) {
  static std::mutex mutex;
  static std::map<std::string, int> counters;
  std::lock_guard<std::mutex> lock(mutex);
  const int n = counters[kind]++;
  return n == 0 ? kind : kind + "_" + std::to_string(n);
}

// Floating inputs go to the compute dtype where a 16-bit type is involved (a float64 input of a
// float32 layer stays float64).
Tensor to_compute_dtype(const Tensor& x, DType compute) {
  if (!is_floating(x.dtype()) || x.dtype() == compute || (!is_half(compute) && !is_half(x.dtype()))) return x;
  return cast(x, compute);
}

}  // namespace

Layer::Layer(std::string kind, std::string name)
    : name_(name.empty() ? unique_name(kind) : std::move(name)), policy_(global_policy()) {}
Layer::~Layer() = default;

void Layer::fail(const std::string& what) const { throw InvalidArgument("[" + name_ + "] " + what); }

void Layer::build(const Shape&) {}
void Layer::build(const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() == 1) build(input_shapes[0]);
}
Tensor Layer::call(const Tensor&, bool) { fail("call() is not implemented for a single input"); }
Tensor Layer::call(const std::vector<Tensor>& xs, bool training) {
  if (xs.size() != 1) fail("takes one input, got " + std::to_string(xs.size()));
  return call(xs[0], training);
}

Shape Layer::compute_output_shape(const Shape& input_shape) {
  // Generic: run the layer on zeros of that shape (batch 1 where unknown) without recording.
  Shape probe = input_shape;
  if (!probe.empty() && probe[0] < 0) probe[0] = 1;
  Shape out = (*this)(zeros(probe), false).shape();
  if (!input_shape.empty() && input_shape[0] < 0 && !out.empty()) out[0] = -1;  // still any batch size
  return out;
}

void Layer::build_for(const Shape& input_shape) {
  if (built_) return;
  build(input_shape);
  input_shape_ = input_shape;
  built_ = true;
}

void Layer::set_dtype_policy(const Policy& policy) {
  if (!weights_.empty() && policy.variable_dtype() != policy_.variable_dtype()) {
    fail("cannot take dtype policy '" + policy.name() + "': its weights exist as " + dtype_name(policy_.variable_dtype()));
  }
  policy_ = policy;
}

Tensor Layer::operator()(const Tensor& x_in, bool training) {
  if (!x_in.defined()) fail("the input is an empty tensor handle");
  const Tensor x = to_compute_dtype(x_in, policy_.compute_dtype());
  if (!built_) {
    Shape s = x.shape();
    if (!s.empty()) s[0] = -1;  // the batch size is not part of what was built
    build(x.shape());
    input_shape_ = s;
    built_ = true;
  }
  // Only written when non-empty: inference calls then leave the layer untouched, so that
  // predict can run on one built model from several threads.
  if (!call_losses_.empty()) call_losses_.clear();
  const AutocastScope autocast(policy_.compute_dtype());
  return call(x, training);
}

Tensor Layer::operator()(const std::vector<Tensor>& xs_in, bool training) {
  std::vector<Tensor> xs;
  for (const Tensor& x : xs_in) xs.push_back(x.defined() ? to_compute_dtype(x, policy_.compute_dtype()) : x);
  if (!built_) {
    std::vector<Shape> shapes;
    for (const Tensor& x : xs) shapes.push_back(x.shape());
    build(shapes);
    built_ = true;
  }
  if (!call_losses_.empty()) call_losses_.clear();
  const AutocastScope autocast(policy_.compute_dtype());
  return call(xs, training);
}

std::vector<Tensor> Layer::call_outputs(const std::vector<Tensor>& inputs, bool list_call, bool training) {
  if (list_call) return {(*this)(inputs, training)};
  if (inputs.size() != 1) fail("takes one input, got " + std::to_string(inputs.size()));
  return {(*this)(inputs[0], training)};
}

Variable Layer::add_weight(const std::string& name, const Shape& shape, InitializerPtr initializer,
                           RegularizerPtr regularizer, bool trainable, DType dtype) {
  if (!initializer) initializer = GlorotUniform();
  if (dtype == DType::Float32) dtype = policy_.variable_dtype();
  for (const Weight& w : weights_) {
    if (w.variable.name() == name_ + "/" + name) fail("a weight named '" + name + "' already exists");
  }
  Variable v((*initializer)(shape, dtype), name_ + "/" + name, trainable);
  weights_.push_back({v, name, std::move(regularizer)});
  return v;
}

void Layer::track_layer(const LayerPtr& layer) {
  if (!layer) fail("cannot track an empty layer pointer");
  if (layer.get() == this) fail("a layer cannot contain itself");
  sublayers_.push_back(layer);
}

void Layer::collect(std::vector<Layer*>& out) {
  if (std::find(out.begin(), out.end(), this) != out.end()) return;  // shared layers count once
  out.push_back(this);
  for (const LayerPtr& l : sublayers_) l->collect(out);
}

std::vector<Layer*> Layer::all_layers() {
  std::vector<Layer*> out;
  collect(out);
  return out;
}

std::vector<Variable> Layer::weights() const {
  std::vector<Variable> out;
  std::set<uint64_t> seen;
  for (Layer* l : const_cast<Layer*>(this)->all_layers()) {
    for (const Weight& w : l->weights_) {
      if (seen.insert(w.variable.id()).second) out.push_back(w.variable);
    }
  }
  return out;
}

// A weight is trainable when its variable is and no layer on the way to it is frozen.
std::vector<Variable> Layer::trainable_weights() const {
  std::vector<Variable> out;
  std::set<uint64_t> seen;
  std::function<void(const Layer*)> visit = [&](const Layer* l) {
    if (!l->trainable_) return;
    for (const Weight& w : l->weights_) {
      if (w.variable.trainable() && seen.insert(w.variable.id()).second) out.push_back(w.variable);
    }
    for (const LayerPtr& s : l->sublayers_) visit(s.get());
  };
  visit(this);
  return out;
}

std::vector<Variable> Layer::non_trainable_weights() const {
  std::set<uint64_t> trainable;
  for (const Variable& v : trainable_weights()) trainable.insert(v.id());
  std::vector<Variable> out;
  for (const Variable& v : weights()) {
    if (!trainable.count(v.id())) out.push_back(v);
  }
  return out;
}

std::vector<std::pair<std::string, Variable>> Layer::weight_paths() const {
  std::vector<std::pair<std::string, Variable>> out;
  std::set<uint64_t> seen;
  std::function<void(const Layer*, const std::string&)> visit = [&](const Layer* l, const std::string& prefix) {
    for (const Weight& w : l->weights_) {
      if (seen.insert(w.variable.id()).second) out.emplace_back(prefix + w.local_name, w.variable);
    }
    for (size_t i = 0; i < l->sublayers_.size(); ++i) visit(l->sublayers_[i].get(), prefix + std::to_string(i) + "/");
  };
  visit(this, "");
  return out;
}

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (const Variable& v : weights()) out.push_back(v.read_value());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& values) {
  const std::vector<Variable> vars = weights();
  if (values.size() != vars.size()) {
    fail("set_weights got " + std::to_string(values.size()) + " tensors for " + std::to_string(vars.size()) + " weights");
  }
  for (size_t i = 0; i < vars.size(); ++i) {
    if (values[i].shape() != vars[i].shape()) {
      fail("set_weights: weight '" + vars[i].name() + "' has shape " + vars[i].shape().str() + ", got " +
           values[i].shape().str());
    }
  }
  for (size_t i = 0; i < vars.size(); ++i) {
    Variable v = vars[i];
    v.assign(values[i].dtype() == v.dtype() ? values[i] : cast(values[i], v.dtype()));
  }
}

std::vector<Tensor> Layer::losses() const {
  std::vector<Tensor> out;
  for (Layer* l : const_cast<Layer*>(this)->all_layers()) {
    for (const Weight& w : l->weights_) {
      if (w.regularizer) out.push_back((*w.regularizer)(w.variable));
    }
    out.insert(out.end(), l->call_losses_.begin(), l->call_losses_.end());
  }
  return out;
}

}  // namespace loom::nn
