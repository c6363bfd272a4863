#pragma once
// Keras metrics: stateful accumulators updated batch by batch.
#include <memory>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

class LOOM_API Metric {
 public:
  virtual ~Metric();
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred) = 0;
  virtual double result() const = 0;
  virtual void reset_state() = 0;
  virtual std::string name() const = 0;
};
using MetricPtr = std::shared_ptr<Metric>;

// The running mean of values (of a batch mean weighted by its size when given).
class LOOM_API Mean : public Metric {
 public:
  explicit Mean(std::string name = "mean") : name_(std::move(name)) {}
  void update_state(const Tensor& values, const Tensor& unused) override;
  void add(double value, double weight = 1.0);
  double result() const override { return count_ > 0 ? total_ / count_ : 0.0; }
  void reset_state() override { total_ = count_ = 0; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  double total_ = 0, count_ = 0;
};

LOOM_API MetricPtr SparseCategoricalAccuracy(std::string name = "accuracy");
LOOM_API MetricPtr CategoricalAccuracy(std::string name = "accuracy");
LOOM_API MetricPtr BinaryAccuracy(double threshold = 0.5, std::string name = "accuracy");
LOOM_API MetricPtr MeanAbsoluteErrorMetric(std::string name = "mae");
// By Keras name. "accuracy"/"acc" picks the variant that fits the loss (as Keras).
LOOM_API MetricPtr get_metric(const std::string& name, const std::string& loss_name);

}  // namespace loom::nn
