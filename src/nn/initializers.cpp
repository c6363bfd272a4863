#include "loom/nn/initializers.hpp"

#include <cmath>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::nn {
namespace {

class FunctionInitializer final : public Initializer {
 public:
  explicit FunctionInitializer(std::function<Tensor(const Shape&, DType)> fn, std::string name = "")
      : fn_(std::move(fn)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  Tensor operator()(const Shape& shape, DType dtype) const override {
    Tensor t = fn_(shape, dtype);
    if (!t.defined() || t.shape() != shape) {
      throw ShapeError("[initializer] the function returned shape " + (t.defined() ? t.shape().str() : "(undefined)") +
                       ", expected " + shape.str());
    }
    return t.dtype() == dtype ? t : cast(t, dtype);
  }

 private:
  std::function<Tensor(const Shape&, DType)> fn_;
  std::string name_;
};

// A built-in initializer, known to get_initializer() by `name` (with its default arguments).
InitializerPtr named(std::string name, std::function<Tensor(const Shape&, DType)> fn) {
  return std::make_shared<FunctionInitializer>(std::move(fn), std::move(name));
}

uint64_t seed_or_next(std::optional<uint64_t> seed) { return seed ? *seed : next_random_seed(); }

// Variance scaling (Keras): stddev or limit from scale / fan.
InitializerPtr variance_scaling(const char* name, double scale, bool fan_avg, bool normal, std::optional<uint64_t> seed) {
  return named(name, [=](const Shape& shape, DType dtype) {
    const auto [fan_in, fan_out] = fans(shape);
    const double n = std::max(1.0, fan_avg ? (fan_in + fan_out) / 2.0 : fan_in);
    if (normal) {  // truncated normal, with Keras' correction for the truncation at 2 stddev
      return truncated_normal(shape, 0.0, std::sqrt(scale / n) / 0.87962566103423978, dtype, seed_or_next(seed));
    }
    const double limit = std::sqrt(3.0 * scale / n);
    return random_uniform(shape, -limit, limit, dtype, seed_or_next(seed));
  });
}

}  // namespace

Initializer::~Initializer() = default;

std::pair<double, double> fans(const Shape& shape) {
  if (shape.rank() < 1) return {1, 1};
  if (shape.rank() == 1) return {static_cast<double>(shape[0]), static_cast<double>(shape[0])};
  if (shape.rank() == 2) return {static_cast<double>(shape[0]), static_cast<double>(shape[1])};
  double receptive = 1;
  for (int i = 0; i + 2 < shape.rank(); ++i) receptive *= static_cast<double>(shape[static_cast<size_t>(i)]);
  return {receptive * static_cast<double>(shape[shape.size() - 2]), receptive * static_cast<double>(shape.back())};
}

InitializerPtr FromFunction(std::function<Tensor(const Shape&, DType)> fn) {
  return std::make_shared<FunctionInitializer>(std::move(fn));
}
InitializerPtr Zeros() {
  return named("zeros", [](const Shape& shape, DType dtype) { return fill(shape, 0.0, dtype); });
}
InitializerPtr Ones() {
  return named("ones", [](const Shape& shape, DType dtype) { return fill(shape, 1.0, dtype); });
}
InitializerPtr Constant(double value) {
  return FromFunction([value](const Shape& shape, DType dtype) { return fill(shape, value, dtype); });
}
InitializerPtr RandomNormal(double mean, double stddev, std::optional<uint64_t> seed) {
  return FromFunction([=](const Shape& shape, DType dtype) { return random_normal(shape, mean, stddev, dtype, seed_or_next(seed)); });
}
InitializerPtr RandomUniform(double minval, double maxval, std::optional<uint64_t> seed) {
  return FromFunction([=](const Shape& shape, DType dtype) { return random_uniform(shape, minval, maxval, dtype, seed_or_next(seed)); });
}
InitializerPtr TruncatedNormal(double mean, double stddev, std::optional<uint64_t> seed) {
  return FromFunction([=](const Shape& shape, DType dtype) { return truncated_normal(shape, mean, stddev, dtype, seed_or_next(seed)); });
}
InitializerPtr GlorotUniform(std::optional<uint64_t> seed) { return variance_scaling("glorot_uniform", 1.0, true, false, seed); }
InitializerPtr GlorotNormal(std::optional<uint64_t> seed) { return variance_scaling("glorot_normal", 1.0, true, true, seed); }
InitializerPtr HeNormal(std::optional<uint64_t> seed) { return variance_scaling("he_normal", 2.0, false, true, seed); }
InitializerPtr HeUniform(std::optional<uint64_t> seed) { return variance_scaling("he_uniform", 2.0, false, false, seed); }

InitializerPtr get_initializer(const std::string& name) {
  if (name == "zeros") return Zeros();
  if (name == "ones") return Ones();
  if (name == "glorot_uniform") return GlorotUniform();
  if (name == "glorot_normal") return GlorotNormal();
  if (name == "he_normal") return HeNormal();
  if (name == "he_uniform") return HeUniform();
  if (name == "random_normal") return RandomNormal();
  if (name == "random_uniform") return RandomUniform();
  if (name == "truncated_normal") return TruncatedNormal();
  throw InvalidArgument("[get_initializer] unknown initializer '" + name +
                        "' (zeros, ones, glorot_uniform, glorot_normal, he_normal, he_uniform, random_normal, "
                        "random_uniform, truncated_normal)");
}

}  // namespace loom::nn
