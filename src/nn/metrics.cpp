#include "loom/nn/metrics.hpp"

#include <functional>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::nn {
namespace {

// The fraction of correct predictions, accumulated over batches.
class AccuracyMetric final : public Metric {
 public:
  using Correct = std::function<Tensor(const Tensor&, const Tensor&)>;  // -> bool per example
  AccuracyMetric(std::string name, Correct correct) : name_(std::move(name)), correct_(std::move(correct)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred) override {
    const Tensor c = correct_(y_true, y_pred);
    correct_count_ += reduce_sum(cast(c, DType::Int64)).item<double>();
    total_ += static_cast<double>(c.numel());
  }
  double result() const override { return total_ > 0 ? correct_count_ / total_ : 0.0; }
  void reset_state() override { correct_count_ = total_ = 0; }
  std::string name() const override { return name_; }
  MetricPtr fresh() const override { return std::make_shared<AccuracyMetric>(name_, correct_); }

 private:
  std::string name_;
  Correct correct_;
  double correct_count_ = 0, total_ = 0;
};

Tensor labels_like_argmax(const Tensor& y_true, const Tensor& y_pred) {
  Tensor labels = y_true;
  if (labels.rank() == y_pred.rank() && labels.rank() > 0 && labels.shape().back() == 1) labels = squeeze(labels, {-1});
  labels = cast(labels, DType::Int64);
  const Shape rows(y_pred.shape().data(), y_pred.shape().size() - 1);
  if (labels.numel() != rows.numel()) {
    throw ShapeError("[accuracy] y_true " + y_true.shape().str() + " does not match y_pred " + y_pred.shape().str());
  }
  return reshape(labels, rows);
}

}  // namespace

Metric::~Metric() = default;

void Mean::update_state(const Tensor& values, const Tensor&) {
  add(reduce_mean(cast(values, DType::Float64)).item<double>(), static_cast<double>(values.numel()));
}
void Mean::add(double value, double weight) {
  total_ += value * weight;
  count_ += weight;
}

MetricPtr SparseCategoricalAccuracy(std::string name) {
  return std::make_shared<AccuracyMetric>(std::move(name), [](const Tensor& t, const Tensor& p) {
    return equal(argmax(p, -1), labels_like_argmax(t, p));
  });
}

MetricPtr CategoricalAccuracy(std::string name) {
  return std::make_shared<AccuracyMetric>(std::move(name), [](const Tensor& t, const Tensor& p) {
    return equal(argmax(p, -1), argmax(t, -1));
  });
}

MetricPtr BinaryAccuracy(double threshold, std::string name) {
  return std::make_shared<AccuracyMetric>(std::move(name), [threshold](const Tensor& t, const Tensor& p) {
    const Tensor predicted = p > fill_like(p, threshold);
    return equal(predicted, cast(t, DType::Float64) > fill_like(cast(t, DType::Float64), 0.5));
  });
}

MetricPtr MeanAbsoluteErrorMetric(std::string name) {
  class MaeMetric final : public Metric {
   public:
    explicit MaeMetric(std::string n) : mean_(std::move(n)) {}
    void update_state(const Tensor& t, const Tensor& p) override {
      const Tensor target = t.dtype() == p.dtype() ? t : cast(t, p.dtype());
      mean_.update_state(abs(p - reshape(target, p.shape())), Tensor());
    }
    double result() const override { return mean_.result(); }
    void reset_state() override { mean_.reset_state(); }
    std::string name() const override { return mean_.name(); }
    MetricPtr fresh() const override { return std::make_shared<MaeMetric>(mean_.name()); }

   private:
    Mean mean_;
  };
  return std::make_shared<MaeMetric>(std::move(name));
}

MetricPtr get_metric(const std::string& name, const std::string& loss_name) {
  if (name == "accuracy" || name == "acc") {
    if (loss_name.find("sparse_categorical") != std::string::npos) return SparseCategoricalAccuracy(name);
    if (loss_name.find("binary") != std::string::npos) return BinaryAccuracy(0.5, name);
    return CategoricalAccuracy(name);
  }
  if (name == "sparse_categorical_accuracy") return SparseCategoricalAccuracy(name);
  if (name == "categorical_accuracy") return CategoricalAccuracy(name);
  if (name == "binary_accuracy") return BinaryAccuracy(0.5, name);
  if (name == "mae" || name == "mean_absolute_error") return MeanAbsoluteErrorMetric(name);
  throw InvalidArgument("[get_metric] unknown metric '" + name +
                        "' (accuracy, sparse_categorical_accuracy, categorical_accuracy, binary_accuracy, mae)");
}

}  // namespace loom::nn
