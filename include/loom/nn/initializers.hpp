#pragma once
// Weight initializers (Keras semantics). Without an explicit seed they draw one from the global
// generator, so set_seed() before building a model makes its initial weights reproducible.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

/// Base of the weight initializers (Keras' Initializer).
class LOOM_API Initializer {
 public:
  virtual ~Initializer();
  /// Initial values of `shape` and `dtype`.
  virtual Tensor operator()(const Shape& shape, DType dtype) const = 0;
  /// The Keras name get_initializer() knows it by ("glorot_uniform", ...); empty for others.
  virtual std::string name() const { return ""; }
};
/// Initializers are shared, immutable objects.
using InitializerPtr = std::shared_ptr<const Initializer>;

/// (fan_in, fan_out) as Keras computes them: dense (in, out); conv (kh, kw, in, out) ->
/// receptive field times channels; (1, 1) for a scalar.
LOOM_API std::pair<double, double> fans(const Shape& shape);

/// All zeros.
LOOM_API InitializerPtr Zeros();
/// All ones.
LOOM_API InitializerPtr Ones();
/// Every value `value`.
LOOM_API InitializerPtr Constant(double value);
/// Normal values (see loom::random_normal).
LOOM_API InitializerPtr RandomNormal(double mean = 0.0, double stddev = 0.05, std::optional<uint64_t> seed = {});
/// Uniform values in [minval, maxval) (see loom::random_uniform).
LOOM_API InitializerPtr RandomUniform(double minval = -0.05, double maxval = 0.05, std::optional<uint64_t> seed = {});
/// Normal values within two standard deviations (see loom::truncated_normal).
LOOM_API InitializerPtr TruncatedNormal(double mean = 0.0, double stddev = 0.05, std::optional<uint64_t> seed = {});
/// Uniform in [-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)); Keras' default for
/// kernels.
LOOM_API InitializerPtr GlorotUniform(std::optional<uint64_t> seed = {});
/// Truncated normal with stddev sqrt(2 / (fan_in + fan_out)) (corrected for the truncation,
/// as Keras).
LOOM_API InitializerPtr GlorotNormal(std::optional<uint64_t> seed = {});
/// Truncated normal with stddev sqrt(2 / fan_in) (corrected for the truncation, as Keras).
LOOM_API InitializerPtr HeNormal(std::optional<uint64_t> seed = {});
/// Uniform in [-limit, limit) with limit = sqrt(6 / fan_in).
LOOM_API InitializerPtr HeUniform(std::optional<uint64_t> seed = {});
/// A user function (shape, dtype) -> tensor; ShapeError when it returns another shape, and
/// another dtype is cast.
LOOM_API InitializerPtr FromFunction(std::function<Tensor(const Shape&, DType)> fn);
/// By Keras name: "zeros", "ones", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
/// "random_normal", "random_uniform", "truncated_normal". InvalidArgument for another name.
LOOM_API InitializerPtr get_initializer(const std::string& name);

}  // namespace loom::nn
