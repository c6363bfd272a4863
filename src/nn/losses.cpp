#include "loom/nn/losses.hpp"

#include <functional>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"

namespace loom::nn {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras' backend epsilon for probabilities

[[noreturn]] void mismatch(const std::string& loss, const Tensor& y_true, const Tensor& y_pred, const std::string& want) {
  throw ShapeError("[" + loss + "] y_true " + y_true.shape().str() + " does not fit y_pred " + y_pred.shape().str() +
                   " (" + want + ")");
}

// y_true in y_pred's dtype and shape.
Tensor as_pred(const std::string& loss, const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  if (t.shape() == y_pred.shape()) return t;
  if (t.numel() == y_pred.numel()) return reshape(t, y_pred.shape());
  mismatch(loss, y_true, y_pred, "same number of values");
}

class FnLoss final : public Loss {
 public:
  FnLoss(std::string name, std::function<Tensor(const Tensor&, const Tensor&)> fn, Attrs config = {})
      : name_(std::move(name)), fn_(std::move(fn)), config_(std::move(config)) {}
  Attrs get_config() const override { return config_; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override {
    if (!y_true.defined() || !y_pred.defined()) throw InvalidArgument("[" + name_ + "] an input is an empty tensor handle");
    return fn_(y_true, y_pred);
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::function<Tensor(const Tensor&, const Tensor&)> fn_;
  Attrs config_;
};

Tensor clipped_log(const Tensor& p) { return log(clip(p, kEpsilon, 1 - kEpsilon)); }

}  // namespace

Loss::~Loss() = default;

LossPtr MeanSquaredError() {
  return std::make_shared<FnLoss>("mean_squared_error", [](const Tensor& t, const Tensor& p) {
    return reduce_mean(square(p - as_pred("mean_squared_error", t, p)));
  });
}

LossPtr MeanAbsoluteError() {
  return std::make_shared<FnLoss>("mean_absolute_error", [](const Tensor& t, const Tensor& p) {
    return reduce_mean(abs(p - as_pred("mean_absolute_error", t, p)));
  });
}

LossPtr SparseCategoricalCrossentropy(bool from_logits) {
  return std::make_shared<FnLoss>("sparse_categorical_crossentropy", [from_logits](const Tensor& t, const Tensor& p) {
    const std::string name = "sparse_categorical_crossentropy";
    if (p.rank() < 1) mismatch(name, t, p, "predictions need a class axis");
    Tensor labels = t;
    if (labels.rank() == p.rank() && labels.shape().back() == 1) labels = squeeze(labels, {-1});
    if (is_floating(labels.dtype())) labels = cast(labels, DType::Int64);
    if (labels.numel() != p.numel() / p.shape().back()) mismatch(name, t, p, "one class index per prediction row");
    labels = reshape(labels, Shape(p.shape().data(), p.shape().size() - 1));
    const Tensor logits = from_logits ? p : clipped_log(p);  // log-probabilities act as logits
    return reduce_mean(sparse_softmax_cross_entropy_with_logits(labels, logits));
  }, Attrs{{"from_logits", from_logits}});
}

LossPtr CategoricalCrossentropy(bool from_logits) {
  return std::make_shared<FnLoss>("categorical_crossentropy", [from_logits](const Tensor& t, const Tensor& p) {
    const Tensor labels = as_pred("categorical_crossentropy", t, p);
    if (from_logits) return reduce_mean(softmax_cross_entropy_with_logits(labels, p));
    // Keras normalises the probabilities first.
    const Tensor probs = p / reduce_sum(p, std::vector<int64_t>{-1}, true);
    return reduce_mean(-reduce_sum(labels * clipped_log(probs), std::vector<int64_t>{-1}));
  }, Attrs{{"from_logits", from_logits}});
}

LossPtr BinaryCrossentropy(bool from_logits) {
  return std::make_shared<FnLoss>("binary_crossentropy", [from_logits](const Tensor& t, const Tensor& p) {
    const Tensor z = as_pred("binary_crossentropy", t, p);
    if (from_logits) return reduce_mean(sigmoid_cross_entropy_with_logits(z, p));
    const Tensor q = clip(p, kEpsilon, 1 - kEpsilon);
    return reduce_mean(-(z * log(q) + (1.0 - z) * log(1.0 - q)));
  }, Attrs{{"from_logits", from_logits}});
}

LossPtr get_loss(const std::string& name) {
  if (name == "mse" || name == "mean_squared_error") return MeanSquaredError();
  if (name == "mae" || name == "mean_absolute_error") return MeanAbsoluteError();
  if (name == "sparse_categorical_crossentropy") return SparseCategoricalCrossentropy(false);
  if (name == "categorical_crossentropy") return CategoricalCrossentropy(false);
  if (name == "binary_crossentropy") return BinaryCrossentropy(false);
  throw InvalidArgument("[get_loss] unknown loss '" + name +
                        "' (mse, mae, sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy)");
}

}  // namespace loom::nn
