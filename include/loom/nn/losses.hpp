#pragma once
// Keras losses: each maps (y_true, y_pred) to the mean loss over the batch.
#include <memory>
#include <string>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

/// Base of the losses: maps (y_true, y_pred) to the mean loss over the batch (Keras' Loss).
class LOOM_API Loss {
 public:
  virtual ~Loss();
  /// The mean loss, a 0-d tensor in y_pred's dtype; differentiable with respect to y_pred.
  /// ShapeError when y_true does not fit y_pred.
  virtual Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const = 0;
  /// The Keras name: "mean_squared_error", "sparse_categorical_crossentropy", ...
  virtual std::string name() const = 0;
  /// The arguments loss_from_config(name(), ...) rebuilds it from ("from_logits" for the
  /// cross-entropies).
  virtual Attrs get_config() const { return {}; }
};
/// Losses are shared, immutable objects.
using LossPtr = std::shared_ptr<const Loss>;

/// mean((y_pred - y_true)^2); y_true is cast and reshaped to y_pred when its count matches.
LOOM_API LossPtr MeanSquaredError();
/// mean(|y_pred - y_true|); y_true is cast and reshaped to y_pred when its count matches.
LOOM_API LossPtr MeanAbsoluteError();
/// Labels are class indices; predictions are probabilities, or logits with from_logits.
LOOM_API LossPtr SparseCategoricalCrossentropy(bool from_logits = false);
/// Labels are distributions (one-hot) over the last axis; predictions are probabilities
/// (normalised first, as Keras), or logits with from_logits.
LOOM_API LossPtr CategoricalCrossentropy(bool from_logits = false);
/// Labels are 0-1 targets; predictions are probabilities, or logits with from_logits.
LOOM_API LossPtr BinaryCrossentropy(bool from_logits = false);
/// "mse", "mae", "sparse_categorical_crossentropy", "categorical_crossentropy",
/// "binary_crossentropy" (probabilities; use the objects for logits); the long names
/// "mean_squared_error" and "mean_absolute_error" too. InvalidArgument for another name.
LOOM_API LossPtr get_loss(const std::string& name);

}  // namespace loom::nn
