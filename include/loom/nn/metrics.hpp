#pragma once
// Keras metrics: stateful accumulators updated batch by batch.
#include <memory>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

/// Base of the metrics: a stateful accumulator updated batch by batch (Keras' Metric).
class LOOM_API Metric {
 public:
  virtual ~Metric();
  /// Accumulates one batch of targets and predictions.
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred) = 0;
  /// The value over everything accumulated since the last reset (0 when empty).
  virtual double result() const = 0;
  /// Forgets everything accumulated.
  virtual void reset_state() = 0;
  /// The name used as the key in the logs ("accuracy", "mae", ...).
  virtual std::string name() const = 0;
  /// A new metric of the same kind and name with no state, for each further output of a model
  /// with several; null (the default) when the metric cannot be copied.
  virtual std::shared_ptr<Metric> fresh() const { return nullptr; }
};
/// Metrics are shared by pointer (a Model holds its metrics).
using MetricPtr = std::shared_ptr<Metric>;

/// The running mean of values (of a batch mean weighted by its size when given).
class LOOM_API Mean : public Metric {
 public:
  /// A mean logged as `name`.
  explicit Mean(std::string name = "mean") : name_(std::move(name)) {}
  /// Adds the mean of `values`, weighted by their count; the second tensor is ignored.
  void update_state(const Tensor& values, const Tensor& unused) override;
  /// Adds one value with a weight.
  void add(double value, double weight = 1.0);
  /// The weighted mean so far (0 when empty).
  double result() const override { return count_ > 0 ? total_ / count_ : 0.0; }
  /// Forgets all values.
  void reset_state() override { total_ = count_ = 0; }
  /// The name given at construction.
  std::string name() const override { return name_; }
  /// A new Mean of the same name.
  std::shared_ptr<Metric> fresh() const override { return std::make_shared<Mean>(name_); }

 private:
  std::string name_;
  double total_ = 0, count_ = 0;
};

/// Fraction of predictions whose argmax over the last axis equals the integer label.
LOOM_API MetricPtr SparseCategoricalAccuracy(std::string name = "accuracy");
/// Fraction of predictions whose argmax equals the argmax of the one-hot target.
LOOM_API MetricPtr CategoricalAccuracy(std::string name = "accuracy");
/// Fraction of predictions on the same side of `threshold` as the 0-1 target (targets count as
/// 1 above 0.5).
LOOM_API MetricPtr BinaryAccuracy(double threshold = 0.5, std::string name = "accuracy");
/// Mean absolute error between predictions and targets.
LOOM_API MetricPtr MeanAbsoluteErrorMetric(std::string name = "mae");
/// By Keras name: "accuracy"/"acc" (picks the variant that fits `loss_name`, as Keras),
/// "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
/// "mae"/"mean_absolute_error". InvalidArgument for another name.
LOOM_API MetricPtr get_metric(const std::string& name, const std::string& loss_name);

}  // namespace loom::nn
