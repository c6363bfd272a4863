#pragma once
// Built-in Keras layers. Options structs use Keras' argument names and defaults.
#include <optional>
#include <string>
#include <vector>

#include "loom/nn/layer.hpp"
#include "loom/nn_ops.hpp"

namespace loom::nn {

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  InitializerPtr kernel_initializer = GlorotUniform();
  InitializerPtr bias_initializer = Zeros();
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  std::string name;
};

class LOOM_API Dense : public Layer {
 public:
  explicit Dense(int64_t units, DenseOptions options = {});
  Dense(int64_t units, const std::string& activation) : Dense(units, with_activation(activation)) {}
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }

 private:
  static DenseOptions with_activation(const std::string& activation) {
    DenseOptions o;
    o.activation = activation;
    return o;
  }
  int64_t units_;
  DenseOptions options_;
  Variable kernel_, bias_;
};

class LOOM_API Flatten : public Layer {
 public:
  explicit Flatten(std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
};

class LOOM_API Reshape : public Layer {
 public:
  explicit Reshape(Shape target_shape, std::string name = "");  // without the batch axis; one -1 allowed
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;

 private:
  Shape target_;
};

class LOOM_API Dropout : public Layer {
 public:
  // Each training call draws a new mask: seed (or one drawn at construction) plus a call counter.
  explicit Dropout(double rate, std::optional<uint64_t> seed = {}, std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  std::map<std::string, std::string> extra_state() const override;
  void set_extra_state(const std::map<std::string, std::string>& state) override;

 private:
  double rate_;
  uint64_t seed_;
  uint64_t calls_ = 0;
};

class LOOM_API Activation : public Layer {
 public:
  explicit Activation(std::string activation, std::string name = "");
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::string activation_;
};

struct Conv2DLayerOptions {
  std::vector<int64_t> strides{1, 1};
  std::string padding = "valid";
  std::vector<int64_t> dilation_rate{1, 1};
  int64_t groups = 1;
  std::string activation = "linear";
  bool use_bias = true;
  InitializerPtr kernel_initializer = GlorotUniform();
  InitializerPtr bias_initializer = Zeros();
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  std::string name;
};

class LOOM_API Conv2D : public Layer {
 public:
  Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DLayerOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  Conv2DLayerOptions options_;
  Variable kernel_, bias_;
};

class LOOM_API MaxPool2D : public Layer {
 public:
  explicit MaxPool2D(std::vector<int64_t> pool_size = {2, 2}, std::vector<int64_t> strides = {},
                     std::string padding = "valid", std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;

 private:
  Pool2DOptions options_;
};

class LOOM_API AvgPool2D : public Layer {
 public:
  explicit AvgPool2D(std::vector<int64_t> pool_size = {2, 2}, std::vector<int64_t> strides = {},
                     std::string padding = "valid", std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;

 private:
  Pool2DOptions options_;
};

class LOOM_API GlobalAvgPool2D : public Layer {
 public:
  explicit GlobalAvgPool2D(std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
};

struct BatchNormalizationOptions {
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;  // beta
  bool scale = true;   // gamma
  std::string name;
};

// Normalises the last axis. Training uses the batch statistics and updates the moving mean and
// variance (moving = momentum * moving + (1 - momentum) * batch; the variance update uses the
// unbiased batch variance, as TF's fused kernel and PyTorch); inference uses the moving ones.
class LOOM_API BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  const Variable& gamma() const { return gamma_; }
  const Variable& beta() const { return beta_; }
  const Variable& moving_mean() const { return moving_mean_; }
  const Variable& moving_variance() const { return moving_variance_; }

 private:
  BatchNormalizationOptions options_;
  Variable gamma_, beta_, moving_mean_, moving_variance_;
};

class LOOM_API Concatenate : public Layer {
 public:
  explicit Concatenate(int64_t axis = -1, std::string name = "");
  Tensor call(const std::vector<Tensor>& xs, bool training) override;

 private:
  int64_t axis_;
};

class LOOM_API Add : public Layer {
 public:
  explicit Add(std::string name = "");
  Tensor call(const std::vector<Tensor>& xs, bool training) override;
};

}  // namespace loom::nn
