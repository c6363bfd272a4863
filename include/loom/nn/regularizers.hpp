#pragma once
// Weight penalties added to the training loss (Keras regularizers).
#include <memory>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

/// Base of the weight penalties (Keras' Regularizer).
class LOOM_API Regularizer {
 public:
  virtual ~Regularizer();
  /// The penalty of `weight` at its current values, a 0-d tensor.
  virtual Tensor operator()(const Tensor& weight) const = 0;
  /// Its "l1" and "l2" factors for the built-in ones (what model files store); empty for others.
  virtual Attrs get_config() const { return {}; }
};
/// Regularizers are shared, immutable objects.
using RegularizerPtr = std::shared_ptr<const Regularizer>;

/// l1 * sum(|w|).
LOOM_API RegularizerPtr L1(double l1 = 0.01);
/// l2 * sum(w^2).
LOOM_API RegularizerPtr L2(double l2 = 0.01);
/// l1 * sum(|w|) + l2 * sum(w^2).
LOOM_API RegularizerPtr L1L2(double l1 = 0.0, double l2 = 0.0);

}  // namespace loom::nn
