// Conv2D, pooling and BatchNormalization layers.
#include "loom/autocast.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"
#include "loom/nn_ops.hpp"
#include "nn/layer_config.hpp"
#include "ops/conv_pool.hpp"

#include <typeinfo>

namespace loom::nn {
namespace {

Pool2DOptions pool_options(std::vector<int64_t> pool, std::vector<int64_t> strides, Padding padding) {
  Pool2DOptions o;
  o.window = std::move(pool);
  o.strides = strides.empty() ? o.window : std::move(strides);
  o.padding = std::move(padding);
  return o;
}


// The op's options from the layer's (Keras) options.
Conv2DOptions op_options(const Conv2DLayerOptions& layer) {
  Conv2DOptions o;
  o.strides = layer.strides;
  o.padding = layer.padding;
  o.dilations = layer.dilation_rate;
  o.groups = layer.groups;
  o.activation = layer.activation;
  return o;
}

}  // namespace

Conv2D::Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DLayerOptions options)
    : Layer("conv2d", options.name), filters_(filters), kernel_size_(std::move(kernel_size)), options_(std::move(options)) {
  if (kernel_size_.size() == 1) kernel_size_.push_back(kernel_size_[0]);
  if (filters <= 0 || kernel_size_.size() != 2) fail("needs filters > 0 and a kernel size of 1 or 2 values");
  if (kernel_size_[0] < 1 || kernel_size_[1] < 1) fail("kernel size " + Shape(kernel_size_).str() + " must be at least 1x1");
  if (options_.groups < 1 || filters % options_.groups != 0) {
    fail("groups (" + std::to_string(options_.groups) + ") must be >= 1 and divide filters (" + std::to_string(filters) + ")");
  }
  activation(zeros({1}), options_.activation);
}

void Conv2D::build(const Shape& s) {
  if (s.rank() != 4) fail("expects NHWC inputs of rank 4, got shape " + s.str());
  if (s[3] % options_.groups != 0) fail("groups must divide the input channels (" + std::to_string(s[3]) + ")");
  kernel_ = add_weight("kernel", {kernel_size_[0], kernel_size_[1], s[3] / options_.groups, filters_},
                       options_.kernel_initializer, options_.kernel_regularizer);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, options_.bias_regularizer);
}

Tensor Conv2D::call(const Tensor& x, bool) {
  return conv2d(x, kernel_, options_.use_bias ? Tensor(bias_) : Tensor(), op_options(options_));
}

std::optional<Tensor> internal::max_pool_fusion(Layer& first, Layer& second, const Tensor& x) {
  if (!x.defined() || typeid(second) != typeid(MaxPool2D) || !first.built() || !second.built()) return std::nullopt;
  // An input unlike the one the layers were built for takes their own calls, whose errors name them.
  const Shape& built_for = first.input_shape();
  if (x.rank() != built_for.rank() || x.rank() < 1 || x.shape().back() != built_for.back()) return std::nullopt;
  const DType compute = first.dtype_policy().compute_dtype();
  if (x.dtype() != compute || second.dtype_policy().compute_dtype() != compute) return std::nullopt;
  const Pool2DOptions& pool = static_cast<const MaxPool2D&>(second).options();
  const AutocastScope autocast(compute);
  if (typeid(first) == typeid(Conv2D)) {
    const auto& conv = static_cast<const Conv2D&>(first);
    if (conv.options().activation != "relu") return std::nullopt;
    return ops::conv2d_relu_max_pool2d(x, conv.kernel(), conv.options().use_bias ? Tensor(conv.bias()) : Tensor(),
                                       op_options(conv.options()), pool);
  }
  if (typeid(first) == typeid(Activation) && static_cast<const Activation&>(first).activation() == "relu") {
    return ops::relu_max_pool2d(x, pool);
  }
  return std::nullopt;
}

Attrs Conv2D::get_config() const {
  Attrs config{{"name", name()},
               {"filters", filters_},
               {"kernel_size", kernel_size_},
               {"strides", options_.strides},
               {"padding", internal::padding_config(options_.padding)},
               {"dilation_rate", options_.dilation_rate},
               {"groups", options_.groups}};
  internal::common_config(config, options_);
  return config;
}

Shape Conv2D::compute_output_shape(const Shape& s) {
  return conv2d_output_shape(s, kernel_size_[0], kernel_size_[1], filters_, op_options(options_));
}

Pool2D::Pool2D(std::string kind, std::vector<int64_t> pool_size, std::vector<int64_t> strides, Padding padding,
               std::string name)
    : Layer(std::move(kind), std::move(name)),
      options_(pool_options(std::move(pool_size), std::move(strides), std::move(padding))) {}
Shape Pool2D::compute_output_shape(const Shape& s) { return pool2d_output_shape(s, options_); }

MaxPool2D::MaxPool2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides, Padding padding, std::string name)
    : Pool2D("max_pooling2d", std::move(pool_size), std::move(strides), std::move(padding), std::move(name)) {}
Tensor MaxPool2D::call(const Tensor& x, bool) { return max_pool2d(x, options_); }
Attrs MaxPool2D::get_config() const {
  return Attrs{{"name", name()}, {"pool_size", options_.window}, {"strides", options_.strides}, {"padding", internal::padding_config(options_.padding)}};
}

AvgPool2D::AvgPool2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides, Padding padding, std::string name)
    : Pool2D("average_pooling2d", std::move(pool_size), std::move(strides), std::move(padding), std::move(name)) {}
Tensor AvgPool2D::call(const Tensor& x, bool) { return avg_pool2d(x, options_); }
Attrs AvgPool2D::get_config() const {
  return Attrs{{"name", name()}, {"pool_size", options_.window}, {"strides", options_.strides}, {"padding", internal::padding_config(options_.padding)}};
}

GlobalAvgPool2D::GlobalAvgPool2D(std::string name) : Layer("global_average_pooling2d", std::move(name)) {}
Tensor GlobalAvgPool2D::call(const Tensor& x, bool) { return global_avg_pool2d(x); }
Shape GlobalAvgPool2D::compute_output_shape(const Shape& s) { return Shape{s[0], s[3]}; }
Attrs GlobalAvgPool2D::get_config() const { return Attrs{{"name", name()}}; }

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : BatchNormalization("batch_normalization", std::move(options)) {}

BatchNormalization::BatchNormalization(std::string kind, BatchNormalizationOptions options)
    : Layer(std::move(kind), options.name), options_(std::move(options)) {
  if (!(options_.momentum >= 0 && options_.momentum <= 1)) fail("momentum must be in [0, 1]");
  if (!(options_.epsilon > 0)) fail("epsilon must be > 0");
}

void BatchNormalization::build(const Shape& s) {
  if (s.rank() < 2) fail("needs inputs with a batch axis and a channel axis, got shape " + s.str());
  const Shape c{s.back()};
  gamma_ = add_weight("gamma", c, Ones(), nullptr, options_.scale);
  beta_ = add_weight("beta", c, Zeros(), nullptr, options_.center);
  moving_mean_ = add_weight("moving_mean", c, Zeros(), nullptr, false);
  moving_variance_ = add_weight("moving_variance", c, Ones(), nullptr, false);
}

Tensor BatchNormalization::call(const Tensor& x, bool training) {
  if (!training) return batch_norm_inference(x, gamma_, beta_, moving_mean_, moving_variance_, options_.epsilon);
  const BatchNormResult r = batch_norm_training(x, gamma_, beta_, options_.epsilon);
  update_moving_statistics(r.batch_mean, r.batch_variance, static_cast<double>(x.numel() / x.shape().back()));
  return r.y;
}

void BatchNormalization::update_moving_statistics(const Tensor& batch_mean, const Tensor& batch_variance, double count) {
  const double m = options_.momentum;
  NoGradGuard no_grad;  // the moving statistics are not part of any gradient
  const NoAutocast in_variable_dtype;  // updated in their own dtype under mixed precision
  const DType stats = moving_mean_.dtype();
  const Tensor unbiased = cast(batch_variance, stats) * (count > 1 ? count / (count - 1) : 1.0);
  moving_mean_.assign(moving_mean_ * m + cast(batch_mean, stats) * (1 - m));
  moving_variance_.assign(moving_variance_ * m + unbiased * (1 - m));
}

Attrs BatchNormalization::get_config() const {
  return Attrs{{"name", name()},
               {"momentum", options_.momentum},
               {"epsilon", options_.epsilon},
               {"center", options_.center},
               {"scale", options_.scale}};
}

}  // namespace loom::nn
