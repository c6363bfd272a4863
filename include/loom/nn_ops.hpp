#pragma once
// Neural-network ops (TF layouts: activations NHWC, conv filters HWIO). Each is one op of the
// registry with its gradient; on the CPU the heavy ones run on oneDNN, with loom kernels for
// what oneDNN does not take (float64, unusual shapes).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

// Padding of a 2-D window op: "same", "valid", or explicit {top, bottom, left, right}.
struct LOOM_API Padding {
  std::string mode = "valid";
  std::vector<int64_t> explicit_pads;  // 4 values when mode == "explicit"
  Padding(const char* m) : mode(m) {}         // NOLINT: "same" / "valid"
  Padding(std::string m) : mode(std::move(m)) {}  // NOLINT
  Padding(int64_t top, int64_t bottom, int64_t left, int64_t right)
      : mode("explicit"), explicit_pads{top, bottom, left, right} {}
};

struct LOOM_API Conv2DOptions {
  std::vector<int64_t> strides{1, 1};
  Padding padding{"valid"};
  std::vector<int64_t> dilations{1, 1};
  int64_t groups = 1;  // groups == input channels: depthwise
  // "auto" lets oneDNN choose (Winograd for 3x3 where faster); "direct" forces direct.
  std::string algorithm = "auto";
  // Applied to the output: linear, relu, sigmoid and tanh are fused into the convolution (a
  // oneDNN post-op); other activations by name run after it.
  std::string activation = "linear";
};

// x: (N, H, W, C_in); filter: (KH, KW, C_in / groups, C_out); bias: (C_out) or undefined.
LOOM_API Tensor conv2d(const Tensor& x, const Tensor& filter, const Tensor& bias = Tensor(),
                       const Conv2DOptions& options = {});

struct LOOM_API Pool2DOptions {
  std::vector<int64_t> window{2, 2};
  std::vector<int64_t> strides{};  // default: the window
  Padding padding{"valid"};
};
LOOM_API Tensor max_pool2d(const Tensor& x, const Pool2DOptions& options = {});
// Averages exclude padded positions (as TF's "same" average pooling).
LOOM_API Tensor avg_pool2d(const Tensor& x, const Pool2DOptions& options = {});
LOOM_API Tensor global_avg_pool2d(const Tensor& x, bool keepdims = false);

// Training-mode batch normalisation over every axis but the last (N, H, W for NHWC).
struct LOOM_API BatchNormResult {
  Tensor y, batch_mean, batch_variance;  // variance is biased (divides by the count)
};
LOOM_API BatchNormResult batch_norm_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                             double epsilon = 1e-3);
// Inference mode: normalises with given statistics (moving mean and variance).
LOOM_API Tensor batch_norm_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& mean, const Tensor& variance, double epsilon = 1e-3);

// Inverted dropout: zeroes elements with probability `rate` and scales the rest by 1/(1-rate);
// the identity when training is false. The same seed gives the same mask.
LOOM_API Tensor dropout(const Tensor& x, double rate, bool training = true,
                        std::optional<uint64_t> seed = {});

LOOM_API Tensor softmax(const Tensor& logits, int64_t axis = -1);
LOOM_API Tensor log_softmax(const Tensor& logits, int64_t axis = -1);
// Per-example losses (TF semantics): labels are class indices / distributions / 0-1 targets.
LOOM_API Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
LOOM_API Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                                  int64_t axis = -1);
LOOM_API Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

LOOM_API Tensor leaky_relu(const Tensor& x, double alpha = 0.2);
LOOM_API Tensor elu(const Tensor& x, double alpha = 1.0);
LOOM_API Tensor gelu(const Tensor& x, bool approximate = false);
LOOM_API Tensor softplus(const Tensor& x);
LOOM_API Tensor silu(const Tensor& x);  // swish: x * sigmoid(x)
inline Tensor swish(const Tensor& x) { return silu(x); }
// Keras 2's hard sigmoid: clip(0.2 x + 0.5, 0, 1).
LOOM_API Tensor hard_sigmoid(const Tensor& x);
LOOM_API Tensor erf(const Tensor& x);
// Applies an activation by Keras name: "linear"/"" (none), "relu", "sigmoid", "tanh",
// "softmax", "leaky_relu", "elu", "gelu", "softplus", "swish"/"silu", "hard_sigmoid", "exp".
LOOM_API Tensor activation(const Tensor& x, const std::string& name);

// x @ kernel + bias, then an activation ("linear", "relu", "sigmoid", "tanh"): one fused oneDNN
// matmul on the CPU for float32, the composite elsewhere.
LOOM_API Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias = Tensor(),
                      const std::string& activation = "linear");

}  // namespace loom
