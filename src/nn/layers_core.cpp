// Dense, Flatten, Reshape, Permute, Dropout, Activation, Concatenate and the merge layers.
#include <algorithm>
#include <charconv>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"
#include "nn/layer_config.hpp"

namespace loom::nn {

Dense::Dense(int64_t units, DenseOptions options)
    : Layer("dense", options.name), units_(units), options_(std::move(options)) {
  if (units <= 0) fail("units must be positive, got " + std::to_string(units));
  activation(zeros({1}), options_.activation);  // an unknown activation fails now, not at the first call
}

void Dense::build(const Shape& input_shape) {
  if (input_shape.rank() < 1 || input_shape.back() <= 0) fail("needs inputs with a last axis, got shape " + input_shape.str());
  kernel_ = add_weight("kernel", {input_shape.back(), units_}, options_.kernel_initializer, options_.kernel_regularizer);
  if (options_.use_bias) bias_ = add_weight("bias", {units_}, options_.bias_initializer, options_.bias_regularizer);
}

Tensor Dense::call(const Tensor& x, bool) {
  if (x.shape().back() != kernel_.shape()[0]) {
    fail("expected inputs with last axis " + std::to_string(kernel_.shape()[0]) + ", got shape " + x.shape().str());
  }
  return dense(x, kernel_, options_.use_bias ? Tensor(bias_) : Tensor(), options_.activation);
}


Attrs Dense::get_config() const {
  Attrs config{{"name", name()}, {"units", units_}};
  internal::common_config(config, options_);
  return config;
}

Shape Dense::compute_output_shape(const Shape& input_shape) {
  Shape out = input_shape;
  out[out.size() - 1] = units_;
  return out;
}

Flatten::Flatten(std::string name) : Layer("flatten", std::move(name)) {}
Tensor Flatten::call(const Tensor& x, bool) {
  if (x.rank() < 1) fail("needs a batch axis, got a 0-d tensor");
  return reshape(x, {x.dim(0), -1});
}
Shape Flatten::compute_output_shape(const Shape& s) {
  int64_t rest = 1;
  for (size_t i = 1; i < s.size(); ++i) rest *= s[i];
  return Shape{s[0], rest};
}

Attrs Flatten::get_config() const { return Attrs{{"name", name()}}; }

Reshape::Reshape(Shape target_shape, std::string name) : Layer("reshape", std::move(name)), target_(std::move(target_shape)) {}
Tensor Reshape::call(const Tensor& x, bool) {
  Shape s{x.dim(0)};
  for (int64_t d : target_) s.push_back(d);
  return reshape(x, s);
}
Shape Reshape::compute_output_shape(const Shape& input_shape) {
  Shape s{input_shape[0]};
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < target_.size(); ++i) {
    if (target_[i] == -1) infer = static_cast<int64_t>(i);
    else known *= target_[i];
  }
  int64_t total = 1;
  for (size_t i = 1; i < input_shape.size(); ++i) total *= input_shape[i];
  for (size_t i = 0; i < target_.size(); ++i) s.push_back(static_cast<int64_t>(i) == infer ? total / known : target_[i]);
  return s;
}

Attrs Reshape::get_config() const { return Attrs{{"name", name()}, {"target_shape", target_.vec()}}; }

Permute::Permute(std::vector<int64_t> dims, std::string name) : Layer("permute", std::move(name)), dims_(std::move(dims)) {
  std::vector<int64_t> sorted = dims_;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int64_t>(i) + 1) fail("dims " + Shape(dims_).str() + " must be a permutation of 1.." + std::to_string(dims_.size()));
  }
}
void Permute::build(const Shape& s) {
  if (s.size() != dims_.size() + 1) {
    throw ShapeError("[" + name() + "] dims " + Shape(dims_).str() + " permute " + std::to_string(dims_.size()) +
                     " axes after the batch axis, got an input of shape " + s.str());
  }
}
Tensor Permute::call(const Tensor& x, bool) {
  std::vector<int64_t> perm{0};
  perm.insert(perm.end(), dims_.begin(), dims_.end());
  return transpose(x, perm);
}
Shape Permute::compute_output_shape(const Shape& s) {
  build(s);
  Shape out{s[0]};
  for (int64_t d : dims_) out.push_back(s[static_cast<size_t>(d)]);
  return out;
}
Attrs Permute::get_config() const { return Attrs{{"name", name()}, {"dims", dims_}}; }

Dropout::Dropout(double rate, std::optional<uint64_t> seed, std::string name)
    : Layer("dropout", std::move(name)), rate_(rate), seed_(seed ? *seed : next_random_seed()) {
  if (!(rate >= 0 && rate < 1)) fail("rate must be in [0, 1), got " + std::to_string(rate));
}
Tensor Dropout::call(const Tensor& x, bool training) {
  if (!training || rate_ == 0) return x;
  // A different, reproducible mask per call: the seed mixed with the call count.
  const uint64_t call_seed = (seed_ ^ (0x9E3779B97F4A7C15ull * ++calls_)) & 0x7fffffffffffffffull;
  return dropout(x, rate_, true, call_seed);
}
// The mask stream's position and seed: a resumed run draws the masks the interrupted one would have.
std::map<std::string, std::string> Dropout::extra_state() const {
  return {{"calls", std::to_string(calls_)}, {"seed", std::to_string(seed_)}};
}
void Dropout::set_extra_state(const std::map<std::string, std::string>& state) {
  for (auto [key, target] : {std::pair<const char*, uint64_t*>{"calls", &calls_}, {"seed", &seed_}}) {
    const auto it = state.find(key);
    if (it == state.end()) continue;
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (error != std::errc() || end != it->second.data() + it->second.size()) {
      throw IOError("[" + name() + "] a checkpoint's '" + key + "' state is not a number: '" + it->second + "'");
    }
    *target = value;
  }
}

Attrs Dropout::get_config() const {
  return Attrs{{"name", name()}, {"rate", rate_}, {"seed", static_cast<int64_t>(seed_ & 0x7fffffffffffffffull)}};
}

Activation::Activation(std::string act, std::string name) : Layer("activation", std::move(name)), activation_(std::move(act)) {
  loom::activation(zeros({1}), activation_);
}
Tensor Activation::call(const Tensor& x, bool) { return loom::activation(x, activation_); }
Attrs Activation::get_config() const { return Attrs{{"name", name()}, {"activation", activation_}}; }

Concatenate::Concatenate(int64_t axis, std::string name) : Layer("concatenate", std::move(name)), axis_(axis) {}

void Concatenate::build(const std::vector<Shape>& shapes) {
  if (shapes.empty()) fail("needs at least one input");
  const int rank = shapes[0].rank();
  const int axis = normalize_axis(axis_, rank, name().c_str());
  for (const Shape& s : shapes) {
    bool fits = s.rank() == rank;
    for (int i = 0; fits && i < rank; ++i) fits = i == axis || i == 0 || s[i] == shapes[0][i];
    if (!fits) {
      std::string all;
      for (const Shape& t : shapes) all += (all.empty() ? "" : ", ") + t.str();
      throw ShapeError("[" + name() + "] inputs " + all + " must agree on every axis but axis " + std::to_string(axis_));
    }
  }
}

Tensor Concatenate::call(const std::vector<Tensor>& xs, bool) {
  if (xs.empty()) fail("needs at least one input");
  return concat(xs, axis_);
}

Attrs Concatenate::get_config() const { return Attrs{{"name", name()}, {"axis", axis_}}; }

Merge::Merge(std::string kind, std::string name, int min_inputs, int max_inputs)
    : Layer(std::move(kind), std::move(name)), min_inputs_(min_inputs), max_inputs_(max_inputs) {}

void Merge::build(const std::vector<Shape>& shapes) {
  const int n = static_cast<int>(shapes.size());
  if (n < min_inputs_ || (max_inputs_ >= 0 && n > max_inputs_)) {
    fail("takes " + std::to_string(min_inputs_) + (max_inputs_ == min_inputs_ ? "" : " or more") + " inputs, got " +
         std::to_string(n));
  }
  for (const Shape& s : shapes) {
    if (s.rank() != shapes[0].rank() || !std::equal(s.begin() + (s.empty() ? 0 : 1), s.end(), shapes[0].begin() + (s.empty() ? 0 : 1))) {
      std::string all;
      for (const Shape& t : shapes) all += (all.empty() ? "" : ", ") + t.str();
      throw ShapeError("[" + name() + "] inputs must have one shape, got " + all);
    }
  }
}

Tensor Merge::call(const std::vector<Tensor>& xs, bool) {
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  build(shapes);  // the same checks for every call (the batch sizes must agree too)
  for (const Tensor& x : xs) {
    if (x.shape() != xs[0].shape()) throw ShapeError("[" + name() + "] inputs must have one shape, got " + x.shape().str() + " and " + xs[0].shape().str());
  }
  return merge(xs);
}

Attrs Merge::get_config() const { return Attrs{{"name", name()}}; }

Add::Add(std::string name) : Merge("add", std::move(name)) {}
Tensor Add::merge(const std::vector<Tensor>& xs) const {
  Tensor sum = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) sum = sum + xs[i];
  return sum;
}

Subtract::Subtract(std::string name) : Merge("subtract", std::move(name), 2, 2) {}
Tensor Subtract::merge(const std::vector<Tensor>& xs) const { return xs[0] - xs[1]; }

Multiply::Multiply(std::string name) : Merge("multiply", std::move(name)) {}
Tensor Multiply::merge(const std::vector<Tensor>& xs) const {
  Tensor product = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) product = product * xs[i];
  return product;
}

Average::Average(std::string name) : Merge("average", std::move(name)) {}
Tensor Average::merge(const std::vector<Tensor>& xs) const {
  Tensor sum = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) sum = sum + xs[i];
  return sum * (1.0 / static_cast<double>(xs.size()));
}

Maximum::Maximum(std::string name) : Merge("maximum", std::move(name)) {}
Tensor Maximum::merge(const std::vector<Tensor>& xs) const {
  Tensor m = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) m = maximum(m, xs[i]);
  return m;
}

Minimum::Minimum(std::string name) : Merge("minimum", std::move(name)) {}
Tensor Minimum::merge(const std::vector<Tensor>& xs) const {
  Tensor m = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) m = minimum(m, xs[i]);
  return m;
}

}  // namespace loom::nn
