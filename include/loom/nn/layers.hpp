#pragma once
// Built-in Keras layers. Options structs use Keras' argument names and defaults.
#include <optional>
#include <string>
#include <vector>

#include "loom/nn/layer.hpp"
#include "loom/nn_ops.hpp"

namespace loom::nn {

/// Options of Dense (Keras' keras.layers.Dense arguments).
struct DenseOptions {
  std::string activation = "linear";                    ///< Activation by name (see loom::activation).
  bool use_bias = true;                                 ///< Whether to add a bias.
  InitializerPtr kernel_initializer = GlorotUniform();  ///< Initial values of the kernel.
  InitializerPtr bias_initializer = Zeros();            ///< Initial values of the bias.
  RegularizerPtr kernel_regularizer = nullptr;          ///< Penalty on the kernel (none when null).
  RegularizerPtr bias_regularizer = nullptr;            ///< Penalty on the bias (none when null).
  std::string name;                                     ///< Layer name; empty: "dense", "dense_1", ...
};

/// Fully connected layer: activation(x times kernel plus bias) over the last axis
/// (Keras' Dense).
class LOOM_API Dense : public Layer {
 public:
  /// A layer of `units` outputs; InvalidArgument for units <= 0 or an unknown activation.
  explicit Dense(int64_t units, DenseOptions options = {});
  /// Same as above, with default options but the activation.
  Dense(int64_t units, const std::string& activation) : Dense(units, with_activation(activation)) {}
  /// Creates the kernel (inputs, units) and, with use_bias, the bias (units).
  void build(const Shape& input_shape) override;
  /// The output (..., units); InvalidArgument when the last axis differs from the built one.
  Tensor call(const Tensor& x, bool training) override;
  /// The input shape with the last axis replaced by units.
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Dense"; }
  Attrs get_config() const override;
  /// The kernel weight (empty handle before build).
  const Variable& kernel() const { return kernel_; }
  /// The bias weight (empty handle before build or without use_bias).
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

/// Flattens every axis but the batch axis: (N, ...) to (N, product of the rest).
class LOOM_API Flatten : public Layer {
 public:
  /// A Flatten layer; `name` empty: a unique name.
  explicit Flatten(std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Flatten"; }
  Attrs get_config() const override;
};

/// Reshapes every example, keeping the batch axis (Keras' Reshape).
class LOOM_API Reshape : public Layer {
 public:
  /// `target_shape` is without the batch axis; one -1 is inferred.
  explicit Reshape(Shape target_shape, std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Reshape"; }
  Attrs get_config() const override;

 private:
  Shape target_;
};

/// Permutes the axes of every example, keeping the batch axis first (Keras' Permute).
class LOOM_API Permute : public Layer {
 public:
  /// `dims`: the new order of the axes after the batch axis, counted from 1 (Keras' convention:
  /// {3, 1, 2} turns (N, H, W, C) into (N, C, H, W)). InvalidArgument unless `dims` is a
  /// permutation of 1..n.
  explicit Permute(std::vector<int64_t> dims, std::string name = "");
  /// ShapeError unless the input has one axis per entry of dims besides the batch axis.
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Permute"; }
  Attrs get_config() const override;
  /// The order of the axes after the batch axis, counted from 1.
  const std::vector<int64_t>& dims() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};

/// Inverted dropout while training (see loom::dropout); the identity in inference.
class LOOM_API Dropout : public Layer {
 public:
  /// Each training call draws a new mask: seed (or one drawn at construction) plus a call counter.
  /// `rate` must be in [0, 1) (InvalidArgument).
  explicit Dropout(double rate, std::optional<uint64_t> seed = {}, std::string name = "");
  /// With `training`, zeroes elements with probability rate and scales the rest; else returns x.
  Tensor call(const Tensor& x, bool training) override;
  /// The call counter ("calls"), so that a resumed training draws the masks it would have.
  std::map<std::string, std::string> extra_state() const override;
  /// Restores the call counter.
  void set_extra_state(const std::map<std::string, std::string>& state) override;
  std::string type_name() const override { return "Dropout"; }
  Attrs get_config() const override;

 private:
  double rate_;
  uint64_t seed_;
  uint64_t calls_ = 0;
};

/// Applies an activation by name (see loom::activation).
class LOOM_API Activation : public Layer {
 public:
  /// InvalidArgument for an unknown activation name.
  explicit Activation(std::string activation, std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "Activation"; }
  Attrs get_config() const override;
  /// The activation's name.
  const std::string& activation() const { return activation_; }

 private:
  std::string activation_;
};

/// Options of Conv2D (Keras' keras.layers.Conv2D arguments).
struct Conv2DLayerOptions {
  std::vector<int64_t> strides{1, 1};                   ///< Stride along height and width.
  Padding padding{"valid"};                             ///< "valid", "same" or explicit {top, bottom, left, right}.
  std::vector<int64_t> dilation_rate{1, 1};             ///< Dilation along height and width.
  int64_t groups = 1;                                   ///< Channel groups; must divide the input channels.
  std::string activation = "linear";                    ///< Activation by name (see loom::activation).
  bool use_bias = true;                                 ///< Whether to add a bias.
  InitializerPtr kernel_initializer = GlorotUniform();  ///< Initial values of the kernel.
  InitializerPtr bias_initializer = Zeros();            ///< Initial values of the bias.
  RegularizerPtr kernel_regularizer = nullptr;          ///< Penalty on the kernel (none when null).
  RegularizerPtr bias_regularizer = nullptr;            ///< Penalty on the bias (none when null).
  std::string name;                                     ///< Layer name; empty: "conv2d", "conv2d_1", ...
};

/// 2-D convolution over NHWC inputs (Keras' Conv2D; see loom::conv2d).
class LOOM_API Conv2D : public Layer {
 public:
  /// `filters` output channels with a kernel of `kernel_size` (height, width; one value: square).
  /// InvalidArgument for filters <= 0, another kernel size count or an unknown activation.
  Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DLayerOptions options = {});
  /// Creates the kernel (KH, KW, C_in / groups, filters) and, with use_bias, the bias (filters).
  /// InvalidArgument unless the input is rank 4 with channels divisible by groups.
  void build(const Shape& input_shape) override;
  /// The convolution of an NHWC batch.
  Tensor call(const Tensor& x, bool training) override;
  /// (N, H_out, W_out, filters) from the window geometry.
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Conv2D"; }
  Attrs get_config() const override;
  /// The kernel weight (empty handle before build).
  const Variable& kernel() const { return kernel_; }
  /// The bias weight (empty handle before build or without use_bias).
  const Variable& bias() const { return bias_; }
  /// The options the layer was made with.
  const Conv2DLayerOptions& options() const { return options_; }

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  Conv2DLayerOptions options_;
  Variable kernel_, bias_;
};

/// What MaxPool2D and AvgPool2D share: windows of `pool_size`, `strides` (empty: the pool
/// size) and padding "valid", "same" or explicit {top, bottom, left, right} over NHWC inputs.
class LOOM_API Pool2D : public Layer {
 public:
  Shape compute_output_shape(const Shape& input_shape) override;
  /// The window, strides and padding.
  const Pool2DOptions& options() const { return options_; }

 protected:
  /// A pooling layer of `kind` ("max_pooling2d", "average_pooling2d").
  Pool2D(std::string kind, std::vector<int64_t> pool_size, std::vector<int64_t> strides, Padding padding,
         std::string name);
  Pool2DOptions options_;  ///< The window, strides and padding.
};

/// Maximum over 2-D windows of NHWC inputs (Keras' MaxPooling2D; see loom::max_pool2d).
class LOOM_API MaxPool2D : public Pool2D {
 public:
  /// Windows of `pool_size`; `strides` empty: the pool size; padding "valid", "same" or explicit
  /// (padded positions never win).
  explicit MaxPool2D(std::vector<int64_t> pool_size = {2, 2}, std::vector<int64_t> strides = {},
                     Padding padding = "valid", std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "MaxPool2D"; }
  Attrs get_config() const override;
};

/// Mean over 2-D windows of NHWC inputs (Keras' AveragePooling2D; see loom::avg_pool2d).
class LOOM_API AvgPool2D : public Pool2D {
 public:
  /// Windows of `pool_size`; `strides` empty: the pool size; padding "valid", "same" or explicit
  /// (averages exclude padded positions).
  explicit AvgPool2D(std::vector<int64_t> pool_size = {2, 2}, std::vector<int64_t> strides = {},
                     Padding padding = "valid", std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "AvgPool2D"; }
  Attrs get_config() const override;
};

/// Mean over height and width: (N, H, W, C) to (N, C) (Keras' GlobalAveragePooling2D).
class LOOM_API GlobalAvgPool2D : public Layer {
 public:
  /// A GlobalAvgPool2D layer; `name` empty: a unique name.
  explicit GlobalAvgPool2D(std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "GlobalAvgPool2D"; }
  Attrs get_config() const override;
};

/// Options of BatchNormalization (Keras' arguments).
struct BatchNormalizationOptions {
  double momentum = 0.99;  ///< Weight of the old value in the moving statistics, in [0, 1].
  double epsilon = 1e-3;   ///< Added to the variance before the square root; must be > 0.
  bool center = true;  ///< Whether beta (the offset) is trained; else it stays 0.
  bool scale = true;   ///< Whether gamma (the scale) is trained; else it stays 1.
  std::string name;    ///< Layer name; empty: "batch_normalization", ...
};

/// Normalises the last axis. Training uses the batch statistics and updates the moving mean and
/// variance (moving = momentum * moving + (1 - momentum) * batch; the variance update uses the
/// unbiased batch variance, as TF's fused kernel and PyTorch); inference uses the moving ones.
class LOOM_API BatchNormalization : public Layer {
 public:
  /// InvalidArgument for a momentum outside [0, 1] or epsilon <= 0.
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  /// Creates gamma, beta, moving_mean and moving_variance, one value per channel (last axis);
  /// InvalidArgument for inputs of rank < 2.
  void build(const Shape& input_shape) override;
  /// Normalises with the batch statistics (and updates the moving ones) when training, else
  /// with the moving statistics.
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "BatchNormalization"; }
  Attrs get_config() const override;
  /// The scale per channel (ones at first).
  const Variable& gamma() const { return gamma_; }
  /// The offset per channel (zeros at first).
  const Variable& beta() const { return beta_; }
  /// The moving mean per channel (non-trainable).
  const Variable& moving_mean() const { return moving_mean_; }
  /// The moving variance per channel (non-trainable).
  const Variable& moving_variance() const { return moving_variance_; }

 protected:
  /// For subclasses that are batch normalisations of their own kind.
  BatchNormalization(std::string kind, BatchNormalizationOptions options);
  /// The options given at construction.
  const BatchNormalizationOptions& options() const { return options_; }
  /// Moves the moving statistics towards a batch's mean and (biased) variance over `count`
  /// values per channel.
  void update_moving_statistics(const Tensor& batch_mean, const Tensor& batch_variance, double count);

 private:
  BatchNormalizationOptions options_;
  Variable gamma_, beta_, moving_mean_, moving_variance_;
};

/// BatchNormalization whose training statistics are those of the global batch: the sums over
/// every rank's batch of a loom::dist job (Keras' SyncBatchNormalization, PyTorch's
/// SyncBatchNorm). The gradient flows through the all-reduces too, so training on N ranks with
/// local batches b equals training on one with batch N * b. Without dist::init(), with one rank
/// or in inference it is a BatchNormalization. Every rank must call it the same number of times
/// (it runs collectives: two all-reduces forward, two backward).
class LOOM_API SyncBatchNormalization : public BatchNormalization {
 public:
  /// InvalidArgument for a momentum outside [0, 1] or epsilon <= 0.
  explicit SyncBatchNormalization(BatchNormalizationOptions options = {});
  /// Normalises with the global batch statistics (and updates the moving ones with them) when
  /// training, else as BatchNormalization.
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "SyncBatchNormalization"; }
};

/// Concatenates its inputs along `axis` (a multi-input layer; see loom::concat).
class LOOM_API Concatenate : public Layer {
 public:
  /// Joins along `axis` (negative counts from the end).
  explicit Concatenate(int64_t axis = -1, std::string name = "");
  /// Checks that the inputs agree on every axis but `axis` (ShapeError naming the shapes).
  void build(const std::vector<Shape>& input_shapes) override;
  /// The inputs joined; InvalidArgument for no inputs.
  Tensor call(const std::vector<Tensor>& xs, bool training) override;
  std::string type_name() const override { return "Concatenate"; }
  Attrs get_config() const override;

 private:
  int64_t axis_;
};

/// What the elementwise merge layers share (Keras' _Merge): inputs of one shape (checked
/// when the layer is built), combined elementwise.
class LOOM_API Merge : public Layer {
 public:
  /// Checks that every input has the same shape (ShapeError naming the layer and the shapes).
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& xs, bool training) override;
  Attrs get_config() const override;

 protected:
  /// A merge layer of `kind` needing at least `min_inputs` inputs (at most `max_inputs`; -1: any).
  Merge(std::string kind, std::string name, int min_inputs = 2, int max_inputs = -1);
  /// The result for the inputs (all of one shape).
  virtual Tensor merge(const std::vector<Tensor>& xs) const = 0;

 private:
  int min_inputs_, max_inputs_;
};

/// The sum of its inputs (Keras' Add): `x + f(x)` in a residual block.
class LOOM_API Add : public Merge {
 public:
  /// An Add layer; `name` empty: a unique name.
  explicit Add(std::string name = "");
  std::string type_name() const override { return "Add"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// The first input minus the second (Keras' Subtract; exactly two inputs).
class LOOM_API Subtract : public Merge {
 public:
  /// A Subtract layer; `name` empty: a unique name.
  explicit Subtract(std::string name = "");
  std::string type_name() const override { return "Subtract"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// The elementwise product of its inputs (Keras' Multiply).
class LOOM_API Multiply : public Merge {
 public:
  /// A Multiply layer; `name` empty: a unique name.
  explicit Multiply(std::string name = "");
  std::string type_name() const override { return "Multiply"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// The elementwise mean of its inputs (Keras' Average).
class LOOM_API Average : public Merge {
 public:
  /// An Average layer; `name` empty: a unique name.
  explicit Average(std::string name = "");
  std::string type_name() const override { return "Average"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// The elementwise maximum of its inputs (Keras' Maximum).
class LOOM_API Maximum : public Merge {
 public:
  /// A Maximum layer; `name` empty: a unique name.
  explicit Maximum(std::string name = "");
  std::string type_name() const override { return "Maximum"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// The elementwise minimum of its inputs (Keras' Minimum).
class LOOM_API Minimum : public Merge {
 public:
  /// A Minimum layer; `name` empty: a unique name.
  explicit Minimum(std::string name = "");
  std::string type_name() const override { return "Minimum"; }

 protected:
  Tensor merge(const std::vector<Tensor>& xs) const override;
};

/// Calls one op of the registry (see call_op) on the layer's inputs and on constants the layer
/// holds, as a TF op inside a Keras functional model does. import_onnx makes these for ONNX
/// operators that have no layer of their own (elementwise math, reductions, matmul, padding).
///
/// The constants are non-trainable weights named "constant_0", "constant_1", ...; the output is
/// the op's first output.
class LOOM_API OpLayer : public Layer {
 public:
  /// Calls `op` with `attrs` on `operands` in order: a value i >= 0 is the layer's input i, a
  /// value -1 - j is constant j (op "sub", operands {-1, 0}: constant 0 minus the input).
  /// NotFoundError for an unknown op; InvalidArgument when an operand names a constant that is
  /// not there, when a constant is unused or undefined, or when the inputs used are not 0..n-1.
  OpLayer(std::string op, Attrs attrs, std::vector<int64_t> operands, std::vector<Tensor> constants = {},
          std::string name = "");
  /// Creates the constants as weights (once).
  void build(const Shape& input_shape) override;
  /// Same as above.
  void build(const std::vector<Shape>& input_shapes) override;
  /// The op on the only input and the constants; InvalidArgument when the layer takes several.
  Tensor call(const Tensor& x, bool training) override;
  /// The op on the inputs and the constants; InvalidArgument for another number of inputs.
  Tensor call(const std::vector<Tensor>& xs, bool training) override;
  std::string type_name() const override { return "OpLayer"; }
  /// "op", "operands", the constants' "constant_shapes" (each rank, then its dims) and
  /// "constant_dtypes", and each op attribute as "attr:<name>".
  Attrs get_config() const override;
  /// The op's name.
  const std::string& op() const { return op_; }
  /// The op's attributes.
  const Attrs& op_attrs() const { return attrs_; }
  /// The op's operands (see the constructor).
  const std::vector<int64_t>& operands() const { return operands_; }
  /// The constants' current values (their initial values before the layer is built).
  std::vector<Tensor> constants() const;
  /// The number of inputs the layer takes.
  int input_count() const { return inputs_; }

 private:
  std::string op_;
  Attrs attrs_;
  std::vector<int64_t> operands_;
  std::vector<Tensor> initial_constants_;
  std::vector<Variable> constants_;
  int inputs_ = 0;
};

}  // namespace loom::nn
