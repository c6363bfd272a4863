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

/// What Model::fit returns: the logs of every epoch (Keras' History).
struct LOOM_API History {
  /// Per-epoch values by name: "loss", "accuracy", "val_loss", ...
  std::map<std::string, std::vector<double>> history;
  /// Number of epochs recorded (the length of "loss").
  int epochs_run() const;
};

/// Options of Model::fit (Keras' fit arguments).
struct LOOM_API FitOptions {
  int64_t batch_size = 32;  ///< Examples per step (>= 1).
  int epochs = 1;           ///< Number of epochs, counted from 0 (runs initial_epoch to epochs - 1).
  /// In [0, 1): the last fraction of the data (before shuffling) validates, as Keras.
  double validation_split = 0.0;
  /// (x, y) to validate on after each epoch; overrides validation_split.
  std::optional<std::pair<Tensor, Tensor>> validation_data;
  bool shuffle = true;  ///< Whether to shuffle the training examples each epoch.
  std::optional<uint64_t> seed;  ///< Shuffling order; default: drawn from the global generator.
  std::vector<CallbackPtr> callbacks;  ///< Called around epochs and batches, in order.
  /// 1: a progress bar per epoch (one line per epoch when stdout is not a terminal);
  /// 2: one line per epoch; 0: silent.
  int verbose = 1;
  int initial_epoch = 0;  ///< First epoch to run (to resume training).
};

/// A Layer that can be compiled and trained (Keras' compile / fit / evaluate / predict), saved
/// and loaded. Subclass it and override call() for custom models, registering sublayers with
/// track(). Errors are InvalidArguments naming the model unless stated otherwise.
class LOOM_API Model : public Layer {
 public:
  /// A model; `name` empty: "model", "model_1", ...
  explicit Model(std::string name = "");
  ~Model() override;

  /// Sets the optimizer, the loss and the metrics for training and evaluation; InvalidArgument
  /// for a null optimizer or loss.
  void compile(OptimizerPtr optimizer, LossPtr loss, std::vector<MetricPtr> metrics = {});
  /// Same as above, by Keras names: get_optimizer(optimizer), get_loss(loss) and
  /// get_metric(name, loss) for each metric (InvalidArgument for unknown names).
  void compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics = {});
  /// Whether compile() has been called.
  bool compiled() const { return optimizer_ != nullptr; }

  /// Trains on (x, y) (examples along the first axis) for the epochs of `options` and returns
  /// the logs. InvalidArgument before compile() or for bad options; ShapeError when x and y
  /// have different example counts.
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// Returns the loss (averaged over the examples) and each metric's result on (x, y) in
  /// inference mode; `verbose` prints them.
  Logs evaluate(const Tensor& x, const Tensor& y, int64_t batch_size = 32, int verbose = 0);
  /// The model's outputs for `x` in inference mode, computed in batches and concatenated.
  Tensor predict(const Tensor& x, int64_t batch_size = 32);
  /// One optimisation step on a batch; returns the loss (with regularisation). On failure every
  /// weight is left as it was.
  double train_step(const Tensor& x, const Tensor& y);

  /// Weights in safetensors, by weight path (Layer::weight_paths); saving is atomic.
  void save_weights(const std::string& path) const;
  /// Loads weights saved by save_weights. Strict loading reports missing, unexpected and
  /// shape-mismatched names (non-strict skips unexpected and missing ones; shape mismatches
  /// are always errors) as an InvalidArgument, and assigns nothing then. A file that cannot be
  /// read is an IOError.
  void load_weights(const std::string& path, bool strict = true);
  /// Full training state: weights, optimizer slots and step, epoch, RNG state, layers' extra
  /// state; saved atomically.
  void save_checkpoint(const std::string& path, int epoch) const;
  /// Restores what save_checkpoint saved and returns the next epoch to run; IOError for a file
  /// that is no loom checkpoint.
  int load_checkpoint(const std::string& path);

  /// The compiled optimizer (null before compile()).
  OptimizerPtr optimizer() const { return optimizer_; }
  /// The compiled loss (null before compile()).
  LossPtr loss() const { return loss_; }
  /// The compiled metrics.
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  /// Set by callbacks to end fit() after the current epoch.
  bool stop_training = false;
  /// One line per layer with its output shape and parameter count (needs a built model), then
  /// the parameter totals.
  std::string summary();

 protected:
  /// For subclasses that are models of their own kind (Sequential passes "sequential").
  Model(std::string kind, std::string name) : Layer(std::move(kind), std::move(name)) {}

 private:
  OptimizerPtr optimizer_;
  LossPtr loss_;
  std::vector<MetricPtr> metrics_;
};
/// Models are shared by pointer.
using ModelPtr = std::shared_ptr<Model>;

/// A model that chains layers, each feeding the next (Keras' Sequential).
class LOOM_API Sequential : public Model {
 public:
  /// The layers in order; built on the first call.
  explicit Sequential(std::vector<LayerPtr> layers = {}, std::string name = "");
  /// Sequential with a known input shape (without the batch axis): built immediately, and each
  /// layer added later is built as it is added.
  Sequential(std::vector<LayerPtr> layers, const Shape& input_shape, std::string name = "");
  /// Appends a layer (InvalidArgument for null).
  void add(LayerPtr layer);
  /// The layers in order.
  const std::vector<LayerPtr>& layers() const { return sublayers(); }
  /// The layer at `index`; InvalidArgument when out of range.
  LayerPtr get_layer(size_t index) const;
  /// The layer named `name`; NotFoundError when there is none.
  LayerPtr get_layer(const std::string& name) const;
  /// Runs the layers in order; InvalidArgument for a model without layers.
  Tensor call(const Tensor& x, bool training) override;
  /// The output shape after every layer's compute_output_shape.
  Shape compute_output_shape(const Shape& input_shape) override;

 private:
  std::optional<Shape> declared_input_;  // (-1, ...) when given at construction
};

}  // namespace loom::nn
