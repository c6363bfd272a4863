#pragma once
// Models: a Model is a Layer that can be compiled and trained (Keras' compile / fit / evaluate /
// predict), saved and loaded. Subclass Model and override call() for custom models; register
// sublayers with track(). Sequential chains layers.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loom/nn/callbacks.hpp"
#include "loom/nn/layer.hpp"
#include "loom/nn/losses.hpp"
#include "loom/nn/metrics.hpp"
#include "loom/nn/optimizers.hpp"

namespace loom::nn {

struct LOOM_API History {
  std::map<std::string, std::vector<double>> history;  // "loss", "accuracy", "val_loss", ...
  int epochs_run() const;
};

struct LOOM_API FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  double validation_split = 0.0;  // the last fraction of the data (before shuffling), as Keras
  std::optional<std::pair<Tensor, Tensor>> validation_data;
  bool shuffle = true;
  std::optional<uint64_t> seed;  // shuffling order; default: drawn from the global generator
  std::vector<CallbackPtr> callbacks;
  // 1: a progress bar per epoch (one line per epoch when stdout is not a terminal);
  // 2: one line per epoch; 0: silent.
  int verbose = 1;
  int initial_epoch = 0;
};

class LOOM_API Model : public Layer {
 public:
  explicit Model(std::string name = "");
  ~Model() override;

  void compile(OptimizerPtr optimizer, LossPtr loss, std::vector<MetricPtr> metrics = {});
  void compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics = {});
  bool compiled() const { return optimizer_ != nullptr; }

  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // Returns the loss and metrics on (x, y) in inference mode.
  Logs evaluate(const Tensor& x, const Tensor& y, int64_t batch_size = 32, int verbose = 0);
  Tensor predict(const Tensor& x, int64_t batch_size = 32);
  // One optimisation step on a batch; returns the loss (with regularisation).
  double train_step(const Tensor& x, const Tensor& y);

  // Weights in safetensors, by weight name; saving is atomic. Loading is strict: missing,
  // unexpected and shape-mismatched names are reported (non-strict skips unexpected ones).
  void save_weights(const std::string& path) const;
  void load_weights(const std::string& path, bool strict = true);
  // Full training state: weights, optimizer slots and step, epoch, RNG state.
  void save_checkpoint(const std::string& path, int epoch) const;
  int load_checkpoint(const std::string& path);  // returns the next epoch to run

  OptimizerPtr optimizer() const { return optimizer_; }
  LossPtr loss() const { return loss_; }
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  // Set by callbacks to end fit() after the current epoch.
  bool stop_training = false;
  // One line per layer with its output shape and parameter count (needs a built model).
  std::string summary();

 protected:
  Model(std::string kind, std::string name) : Layer(std::move(kind), std::move(name)) {}

 private:
  OptimizerPtr optimizer_;
  LossPtr loss_;
  std::vector<MetricPtr> metrics_;
};
using ModelPtr = std::shared_ptr<Model>;

class LOOM_API Sequential : public Model {
 public:
  explicit Sequential(std::vector<LayerPtr> layers = {}, std::string name = "");
  // Sequential with a known input shape (without the batch axis): built immediately, and each
  // layer added later is built as it is added.
  Sequential(std::vector<LayerPtr> layers, const Shape& input_shape, std::string name = "");
  void add(LayerPtr layer);
  const std::vector<LayerPtr>& layers() const { return sublayers(); }
  LayerPtr get_layer(size_t index) const;
  LayerPtr get_layer(const std::string& name) const;
  Tensor call(const Tensor& x, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;

 private:
  std::optional<Shape> declared_input_;  // (-1, ...) when given at construction
};

}  // namespace loom::nn
