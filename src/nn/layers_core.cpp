// Dense, Flatten, Reshape, Dropout, Activation, Concatenate, Add.
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

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
std::map<std::string, std::string> Dropout::extra_state() const { return {{"calls", std::to_string(calls_)}}; }
void Dropout::set_extra_state(const std::map<std::string, std::string>& state) {
  auto it = state.find("calls");
  if (it != state.end()) calls_ = std::stoull(it->second);
}

Activation::Activation(std::string act, std::string name) : Layer("activation", std::move(name)), activation_(std::move(act)) {
  loom::activation(zeros({1}), activation_);
}
Tensor Activation::call(const Tensor& x, bool) { return loom::activation(x, activation_); }

Concatenate::Concatenate(int64_t axis, std::string name) : Layer("concatenate", std::move(name)), axis_(axis) {}
Tensor Concatenate::call(const std::vector<Tensor>& xs, bool) {
  if (xs.empty()) fail("needs at least one input");
  return concat(xs, axis_);
}

Add::Add(std::string name) : Layer("add", std::move(name)) {}
Tensor Add::call(const std::vector<Tensor>& xs, bool) {
  if (xs.empty()) fail("needs at least one input");
  Tensor sum = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) sum = sum + xs[i];
  return sum;
}

}  // namespace loom::nn
