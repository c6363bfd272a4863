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

class MultiWorkerMirroredStrategy;
namespace internal {
class DataParallelFit;
}

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
  /// Data-parallel training over the ranks of a loom::dist job (loom/nn/distributed.hpp):
  /// batch_size is then the global batch, split among the ranks. Null: this process alone.
  std::shared_ptr<MultiWorkerMirroredStrategy> strategy;
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

  /// fit() for models with several inputs or outputs: `x` holds one tensor per input, `y` one
  /// per output. The loss is the compiled loss summed over the outputs; with several outputs
  /// the logs also hold "<output>_loss" and "<output>_<metric>" for each output (outputs named
  /// after their layers).
  History fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const FitOptions& options = {});
  /// evaluate() for models with several inputs or outputs.
  Logs evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y, int64_t batch_size = 32, int verbose = 0);
  /// All outputs for inputs `x` (one tensor per model input) in inference mode, in batches.
  std::vector<Tensor> predict_all(const std::vector<Tensor>& x, int64_t batch_size = 32);
  /// train_step() for models with several inputs or outputs.
  double train_step(const std::vector<Tensor>& x, const std::vector<Tensor>& y);

  /// The model's layers (Sequential: in order; Functional: in execution order, inputs first;
  /// subclassed models: the tracked sublayers).
  virtual std::vector<LayerPtr> layers() const { return sublayers(); }
  /// The layer at `index` of layers(); InvalidArgument when out of range.
  LayerPtr get_layer(size_t index) const;
  /// The layer named `name` among layers(); NotFoundError when there is none.
  LayerPtr get_layer(const std::string& name) const;
  /// The names of the outputs in the logs of fit() and evaluate() (one per output).
  virtual std::vector<std::string> output_names() const { return {name()}; }

  /// Weights in safetensors, by weight path (Layer::weight_paths); saving is atomic.
  void save_weights(const std::string& path) const;
  /// Loads weights saved by save_weights. Strict loading reports missing, unexpected and
  /// shape-mismatched names (non-strict skips unexpected and missing ones; shape mismatches
  /// are always errors) as an InvalidArgument, and assigns nothing then. A file that cannot be
  /// read is an IOError.
  void load_weights(const std::string& path, bool strict = true);
  /// The whole model in one file (Keras' model.save): its architecture (every layer's type and
  /// config, the graph of a functional model), its compile settings and its weights, as
  /// safetensors with the config in the metadata (so other tools still read the weights).
  /// load_model() rebuilds it without the code that built it; custom layer types must be
  /// registered (register_layer_type). Atomic; InvalidArgument for a layer without a type name.
  void save(const std::string& path) const;
  /// The whole model as save(path), its floating weights cast to `weights_dtype` (bfloat16 or
  /// float16 halve the file of a float32 model, for inference: load_model casts them back to
  /// the variables' dtype). DTypeError for a dtype that is not floating.
  void save(const std::string& path, DType weights_dtype) const;
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
  /// The compiled metrics (for the first output; see fit() for models with several).
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  /// The names of the values evaluate() and each fit() epoch log: "loss", then per output
  /// losses and metrics (see fit()). Needs compile().
  std::vector<std::string> metrics_names() const;
  /// Set by callbacks to end fit() after the current epoch.
  bool stop_training = false;
  /// One line per layer with its type, output shape, parameter count and (for functional
  /// models) the layers it is called on, then the parameter totals.
  std::string summary();

 protected:
  /// For subclasses that are models of their own kind (Sequential passes "sequential").
  Model(std::string kind, std::string name) : Layer(std::move(kind), std::move(name)) {}

 private:
  OptimizerPtr optimizer_;
  LossPtr loss_;
  std::vector<MetricPtr> metrics_;
  std::vector<std::vector<MetricPtr>> output_metrics_;  // one set per output (the first is metrics_)
  // The shuffling seed of the current (or last) fit, kept in checkpoints so that a resumed fit
  // (initial_epoch > 0, no explicit seed) shuffles as the interrupted one would have.
  uint64_t fit_seed_ = 0;
  std::optional<uint64_t> resumed_fit_seed_;
  internal::DataParallelFit* parallel_ = nullptr;  // during a fit with a strategy
  struct StepResult;
  // `weight` scales the loss that is differentiated (a rank's share of a global batch); a step
  // of weight 0 updates no metric.
  StepResult step(const std::vector<Tensor>& x, const std::vector<Tensor>& y, double weight = 1.0);
  void prepare_output_metrics(size_t outputs);
  Logs run_epoch(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const FitOptions& o, int epoch,
                 uint64_t seed, void* progress_bar);
  Logs validate(const std::vector<Tensor>& x, const std::vector<Tensor>& y, int64_t batch_size);
};
/// Models are shared by pointer.
using ModelPtr = std::shared_ptr<Model>;

/// The model a file of Model::save() holds, built, with its weights, compiled as it was saved
/// unless `compile` is false. IOError for a file that is no loom model or comes from a newer
/// loom; NotFoundError for an unregistered custom layer type. Loading runs no code but loom's
/// built-in layers and the registered types.
LOOM_API ModelPtr load_model(const std::string& path, bool compile = true);

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
  /// Runs the layers in order; InvalidArgument for a model without layers.
  Tensor call(const Tensor& x, bool training) override;
  /// The output shape after every layer's compute_output_shape.
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Sequential"; }
  /// The name and the declared input shape ("input_shape", when given).
  Attrs get_config() const override;
  /// The input shape given at construction (without the batch axis), if any.
  std::optional<Shape> declared_input_shape() const;

 private:
  std::optional<Shape> declared_input_;  // (-1, ...) when given at construction
};

}  // namespace loom::nn
