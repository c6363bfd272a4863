/// \file nn_ops.hpp
/// Neural-network ops (TF layouts: activations NHWC, conv filters HWIO). Each is one op of the
/// registry with its gradient; on the CPU the heavy ones run on oneDNN, with loom kernels for
/// what oneDNN does not take (float64, unusual shapes).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

/// Padding of a 2-D window op: "same", "valid", or explicit {top, bottom, left, right}.
///
/// Converts implicitly from a mode string: `options.padding = "same";`.
struct LOOM_API Padding {
  std::string mode = "valid";          ///< "same", "valid" or "explicit" (ops reject others).
  std::vector<int64_t> explicit_pads;  ///< {top, bottom, left, right}, each >= 0, when mode is "explicit".
  /// The mode "same" or "valid".
  Padding(const char* m) : mode(m) {}         // NOLINT: "same" / "valid"
  /// Same as above, from a std::string.
  Padding(std::string m) : mode(std::move(m)) {}  // NOLINT
  /// Explicit padding in pixels (mode "explicit").
  Padding(int64_t top, int64_t bottom, int64_t left, int64_t right)
      : mode("explicit"), explicit_pads{top, bottom, left, right} {}
};

/// Options of conv2d (TF's tf.nn.conv2d arguments, plus a fused activation).
struct LOOM_API Conv2DOptions {
  std::vector<int64_t> strides{1, 1};    ///< Stride along height and width.
  Padding padding{"valid"};              ///< Padding of the input.
  std::vector<int64_t> dilations{1, 1};  ///< Dilation of the filter along height and width.
  int64_t groups = 1;  ///< Grouped convolution; groups == input channels: depthwise.
  /// CPU convolution algorithm: "auto" lets oneDNN choose (Winograd for 3x3 where faster);
  /// "direct" forces direct. Anything else is an InvalidArgument.
  std::string algorithm = "auto";
  /// Applied to the output: linear, relu, sigmoid and tanh are fused into the convolution (a
  /// oneDNN post-op); other activations by name run after it.
  std::string activation = "linear";
};

/// 2-D convolution (cross-correlation, as TF) plus optional bias and activation.
///
/// x: (N, H, W, C_in); filter: (KH, KW, C_in / groups, C_out); bias: (C_out) or undefined.
/// Returns (N, H_out, W_out, C_out). ShapeError for ranks, channels or a bias that do not fit;
/// InvalidArgument for bad strides, dilations or padding.
LOOM_API Tensor conv2d(const Tensor& x, const Tensor& filter, const Tensor& bias = Tensor(),
                       const Conv2DOptions& options = {});
/// The shape conv2d gives for an input of shape `input` (NHWC; the batch axis may be -1) and a
/// kernel_h x kernel_w filter with `filters` output channels; ShapeError or InvalidArgument as
/// conv2d would raise them.
LOOM_API Shape conv2d_output_shape(const Shape& input, int64_t kernel_h, int64_t kernel_w, int64_t filters,
                                   const Conv2DOptions& options = {});

/// Options of the 2-D pooling ops.
struct LOOM_API Pool2DOptions {
  std::vector<int64_t> window{2, 2};  ///< Window height and width.
  std::vector<int64_t> strides{};     ///< Stride along height and width; empty: the window.
  Padding padding{"valid"};           ///< Padding of the input.
};
/// The shape max_pool2d and avg_pool2d give for an input of shape `input` (NHWC; the batch axis
/// may be -1); ShapeError or InvalidArgument as the pooling ops would raise them.
LOOM_API Shape pool2d_output_shape(const Shape& input, const Pool2DOptions& options = {});
/// Maximum over each window of an NHWC input (ShapeError unless rank 4).
LOOM_API Tensor max_pool2d(const Tensor& x, const Pool2DOptions& options = {});
/// Mean over each window of an NHWC input; averages exclude padded positions (as TF's "same"
/// average pooling).
LOOM_API Tensor avg_pool2d(const Tensor& x, const Pool2DOptions& options = {});
/// Mean over height and width of an NHWC input: (N, C), or (N, 1, 1, C) with keepdims.
LOOM_API Tensor global_avg_pool2d(const Tensor& x, bool keepdims = false);

/// What batch_norm_training returns.
struct LOOM_API BatchNormResult {
  /// The normalised output, of x's shape.
  Tensor y, batch_mean, batch_variance;
  /// \var loom::BatchNormResult::batch_mean
  /// The batch mean per channel.
  ///
  /// \var loom::BatchNormResult::batch_variance
  /// The batch variance per channel; biased (divides by the count).
};
/// Training-mode batch normalisation over every axis but the last (N, H, W for NHWC):
/// (x - mean) / sqrt(variance + epsilon) * gamma + beta with the batch statistics.
///
/// gamma and beta have one value per channel (ShapeError otherwise); epsilon must be > 0
/// (InvalidArgument).
LOOM_API BatchNormResult batch_norm_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                             double epsilon = 1e-3);
/// Inference mode: normalises with given statistics (moving mean and variance), one value per
/// channel each.
LOOM_API Tensor batch_norm_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& mean, const Tensor& variance, double epsilon = 1e-3);

/// Inverted dropout: zeroes elements with probability `rate` and scales the rest by 1/(1-rate);
/// a copy of `x` when training is false. The same seed gives the same mask; without one the
/// global generator supplies it. `rate` must be in [0, 1) (InvalidArgument).
LOOM_API Tensor dropout(const Tensor& x, double rate, bool training = true,
                        std::optional<uint64_t> seed = {});

/// exp(x - max) / sum(exp(x - max)) along `axis` (floating inputs).
LOOM_API Tensor softmax(const Tensor& logits, int64_t axis = -1);
/// x - max - log(sum(exp(x - max))) along `axis`: the log of softmax, computed stably.
LOOM_API Tensor log_softmax(const Tensor& logits, int64_t axis = -1);
// Per-example losses (TF semantics): labels are class indices / distributions / 0-1 targets.
/// Per-example -log softmax(logits)[label] (TF semantics).
///
/// labels: integer class indices of shape logits' without the last (class) axis, each in
/// [0, classes) (InvalidArgument otherwise); a shape mismatch is a ShapeError.
LOOM_API Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
/// Per-example -sum(labels * log_softmax(logits)) along `axis`; labels are distributions of
/// logits' shape and dtype (ShapeError otherwise).
LOOM_API Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                                  int64_t axis = -1);
/// Elementwise binary cross-entropy of logits against 0-1 labels of the same shape and dtype
/// (ShapeError otherwise).
LOOM_API Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

/// x if x > 0, else alpha * x.
LOOM_API Tensor leaky_relu(const Tensor& x, double alpha = 0.2);
/// x if x > 0, else alpha * (exp(x) - 1).
LOOM_API Tensor elu(const Tensor& x, double alpha = 1.0);
/// x * Phi(x) with the normal CDF Phi (erf form); `approximate` uses the tanh form.
LOOM_API Tensor gelu(const Tensor& x, bool approximate = false);
/// log(1 + exp(x)), stable for large |x|.
LOOM_API Tensor softplus(const Tensor& x);
/// x * sigmoid(x), also called swish.
LOOM_API Tensor silu(const Tensor& x);
/// Same as silu(x).
inline Tensor swish(const Tensor& x) { return silu(x); }
/// Keras 2's hard sigmoid: clip(0.2 x + 0.5, 0, 1).
LOOM_API Tensor hard_sigmoid(const Tensor& x);
/// The error function, elementwise.
LOOM_API Tensor erf(const Tensor& x);
/// Applies an activation by Keras name: "linear"/"" (none: returns `x`), "relu", "sigmoid",
/// "tanh", "softmax", "log_softmax", "leaky_relu", "elu", "gelu", "softplus", "swish"/"silu",
/// "hard_sigmoid", "exp"/"exponential". An unknown name is an InvalidArgument.
LOOM_API Tensor activation(const Tensor& x, const std::string& name);

/// x times kernel plus bias, then an activation: x (..., K), kernel (K, units), bias (units)
/// or undefined.
///
/// "linear", "relu", "sigmoid" and "tanh" are fused (one oneDNN matmul on the CPU for
/// float32, the composite elsewhere); other activation names run after it. ShapeError when
/// the shapes do not fit.
LOOM_API Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias = Tensor(),
                      const std::string& activation = "linear");

}  // namespace loom
