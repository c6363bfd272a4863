#pragma once
// Keras losses: each maps (y_true, y_pred) to the mean loss over the batch.
#include <memory>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

class LOOM_API Loss {
 public:
  virtual ~Loss();
  virtual Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const = 0;
  virtual std::string name() const = 0;
};
using LossPtr = std::shared_ptr<const Loss>;

LOOM_API LossPtr MeanSquaredError();
LOOM_API LossPtr MeanAbsoluteError();
// Labels are class indices; predictions are probabilities, or logits with from_logits.
LOOM_API LossPtr SparseCategoricalCrossentropy(bool from_logits = false);
LOOM_API LossPtr CategoricalCrossentropy(bool from_logits = false);
LOOM_API LossPtr BinaryCrossentropy(bool from_logits = false);
// "mse", "mae", "sparse_categorical_crossentropy", "categorical_crossentropy",
// "binary_crossentropy" (probabilities; use the objects for logits).
LOOM_API LossPtr get_loss(const std::string& name);

}  // namespace loom::nn
