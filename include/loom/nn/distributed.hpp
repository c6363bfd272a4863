#pragma once
// Data-parallel training over the ranks of a loom::dist job: Keras' MultiWorkerMirroredStrategy
// for Model::fit and Horovod's DistributedOptimizer for custom loops. Every rank holds the whole
// model; weights start from rank 0's; each step, every rank computes gradients on its part of
// the global batch and the gradients are averaged in buckets while the backward pass runs.
#include <memory>
#include <vector>

#include "loom/dist.hpp"
#include "loom/nn/optimizers.hpp"
#include "loom/tape.hpp"

namespace loom::nn {

/// Data-parallel Model::fit over the ranks of a loom::dist job (Keras'
/// MultiWorkerMirroredStrategy), set in FitOptions::strategy.
///
/// fit() then, on every rank: builds the model and copies rank 0's weights (BatchNorm's moving
/// statistics too), optimizer state and shuffling seed to the others; takes FitOptions::batch_size
/// as the global batch, each rank training on its contiguous part of every batch of the shared
/// shuffled order (the parts differ by one row at most; a rank left without a row replays one
/// with weight 0); weights each rank's loss by its share, so the averaged gradient is the
/// gradient of the whole batch; averages the gradients in buckets during the backward pass;
/// logs losses and metrics averaged over the ranks (weighted by their examples); validates on
/// each rank's part of the validation data. Only rank 0 prints progress, and during fit only
/// rank 0 writes files (Model::save, save_weights, save_checkpoint, CSVLogger): the other
/// ranks' calls return without writing. Every rank must call fit with the same arguments.
class LOOM_API MultiWorkerMirroredStrategy {
 public:
  /// Needs loom::dist::init() first (DistributedError otherwise); InvalidArgument for
  /// options.bucket_bytes <= 0.
  explicit MultiWorkerMirroredStrategy(dist::BucketOptions options = {});
  /// The number of ranks training together (dist::size()).
  int num_replicas_in_sync() const;
  /// The bucketing options.
  const dist::BucketOptions& options() const { return options_; }
  /// Timings of the gradient averaging of the last training step.
  dist::BucketStats last_step_stats() const { return last_stats_; }
  /// Records the timings of a step (called by fit).
  void record_step(const dist::BucketStats& stats) { last_stats_ = stats; }

 private:
  dist::BucketOptions options_;
  dist::BucketStats last_stats_;
};

/// Horovod's DistributedOptimizer for custom training loops: wraps an optimizer so that the
/// gradients it applies are averaged over the ranks of a loom::dist job first.
///
/// ```
/// nn::DistributedOptimizer opt(nn::SGD(0.1));
/// opt.broadcast_state(model->trainable_weights());        // rank 0's weights everywhere
/// for (...) {                                             // batches of Dataset::shard(size, rank)
///   GradientTape tape;
///   opt.watch(tape, vars);                                // buckets all-reduce during backward
///   const Tensor loss = ...;
///   opt.apply_gradients(tape.gradient(loss, vars), vars); // waits for the averages, updates
/// }
/// ```
/// Gradients handed over during the watched gradient() are averaged as they were then: change
/// them afterwards and the change is ignored (as Horovod's PyTorch optimizer). Without watch(),
/// apply_gradients averages the gradients it gets. Every rank must make the same calls.
class LOOM_API DistributedOptimizer {
 public:
  /// Wraps `optimizer`; needs loom::dist::init() first (DistributedError otherwise);
  /// InvalidArgument for a null optimizer or options.bucket_bytes <= 0.
  explicit DistributedOptimizer(OptimizerPtr optimizer, dist::BucketOptions options = {});
  ~DistributedOptimizer();
  DistributedOptimizer(const DistributedOptimizer&) = delete;             ///< Not copyable.
  DistributedOptimizer& operator=(const DistributedOptimizer&) = delete;  ///< Not copyable.

  /// Makes `tape`'s next gradient() hand the gradients of `variables` over as soon as each is
  /// final, all-reducing full buckets while the backward pass goes on.
  void watch(GradientTape& tape, const std::vector<Variable>& variables);
  /// Applies, with the wrapped optimizer, the average over the ranks of the gradients: those
  /// watch() collected (waiting for their buckets; `grads` must then be their count) or else
  /// `grads`. All or nothing, as Optimizer::apply_gradients.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& variables);
  /// Copies rank `root`'s values of `variables` and the wrapped optimizer's state (slots and
  /// step) to every rank (Horovod's broadcast_parameters and broadcast_optimizer_state).
  /// DistributedError when the ranks' optimizer states have different entries.
  void broadcast_state(const std::vector<Variable>& variables, int root = 0);
  /// The wrapped optimizer.
  OptimizerPtr optimizer() const { return optimizer_; }
  /// Timings of the last averaged step.
  dist::BucketStats last_stats() const;

 private:
  dist::GradientBucketer& bucketer_for(const std::vector<Variable>& variables);
  OptimizerPtr optimizer_;
  dist::BucketOptions options_;
  std::unique_ptr<dist::GradientBucketer> bucketer_;
  std::vector<uint64_t> bucketed_ids_;  // the variables bucketer_ was planned for
};

/// Copies rank `root`'s optimizer state (slots and step) to every rank, matching slots to
/// `variables` by name. DistributedError when the ranks' states have different entries.
LOOM_API void broadcast_optimizer_state(Optimizer& optimizer, const std::vector<Variable>& variables, int root = 0);

}  // namespace loom::nn
