#pragma once
// Keras callbacks: hooks around training; a callback may stop training.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom::nn {

class Model;
/// Values by name after a batch or an epoch: "loss", metric names, "val_loss", ...
using Logs = std::map<std::string, double>;

/// Base of the hooks Model::fit calls around training (Keras' callbacks); every hook does
/// nothing by default. Epochs and batches are numbered from 0.
class LOOM_API Callback {
 public:
  virtual ~Callback();
  /// Before the first epoch.
  virtual void on_train_begin(Model&) {}
  /// Before each epoch.
  virtual void on_epoch_begin(Model&, int /*epoch*/) {}
  /// After each training step, with the running logs of the epoch.
  virtual void on_batch_end(Model&, int64_t /*batch*/, const Logs&) {}
  /// After each epoch, with its logs (validation entries included). Setting
  /// Model::stop_training ends training after this epoch.
  virtual void on_epoch_end(Model&, int /*epoch*/, const Logs&) {}
  /// After the last epoch.
  virtual void on_train_end(Model&) {}
};
/// Callbacks are shared by pointer (FitOptions::callbacks).
using CallbackPtr = std::shared_ptr<Callback>;

/// Stops when `monitor` has not improved by min_delta for `patience` epochs. With
/// restore_best_weights, the best epoch's weights are restored at the end of training, whether
/// it stopped early or ran all epochs.
class LOOM_API EarlyStopping : public Callback {
 public:
  /// `mode`: "min", "max" or "auto" (maximise names containing "acc", minimise the others);
  /// anything else is an InvalidArgument.
  EarlyStopping(std::string monitor = "val_loss", double min_delta = 0.0, int patience = 0,
                std::string mode = "auto", bool restore_best_weights = false);
  /// Resets the state, so one instance serves several fit() calls.
  void on_train_begin(Model& model) override;
  /// Tracks the monitored value (InvalidArgument when it is not in the logs) and stops training
  /// after `patience` epochs without improvement.
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  /// Restores the best weights, with restore_best_weights.
  void on_train_end(Model& model) override;
  /// The epoch at which training was stopped; -1 if it was not.
  int stopped_epoch() const { return stopped_epoch_; }
  /// The epoch with the best monitored value; -1 before any.
  int best_epoch() const { return best_epoch_; }

 private:
  bool improved(double value) const;
  std::string monitor_, mode_;
  double min_delta_;
  int patience_, wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1;
  bool restore_;
  double best_ = 0;
  std::vector<Tensor> best_weights_;
};

/// Saves weights (safetensors, atomically) after each epoch, or only when `monitor` improved.
/// "{epoch}" in the path is replaced by the 1-based epoch number.
class LOOM_API ModelCheckpoint : public Callback {
 public:
  /// `mode` as for EarlyStopping ("min", "max", "auto"); it matters only with save_best_only.
  explicit ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false,
                           std::string mode = "auto");
  /// Saves with Model::save_weights (with save_best_only: only on improvement; InvalidArgument
  /// when `monitor` is not in the logs).
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

 private:
  std::string path_, monitor_, mode_;
  bool save_best_only_;
  std::optional<double> best_;
};

/// Appends one CSV row of logs per epoch (header first); the file is rewritten atomically.
class LOOM_API CSVLogger : public Callback {
 public:
  /// Logs to the file at `path`.
  explicit CSVLogger(std::string path);
  /// Starts a new file (the columns are those of the first epoch's logs).
  void on_train_begin(Model& model) override;
  /// Appends the epoch's row and rewrites the file; IOError when it cannot be written.
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

 private:
  std::string path_;
  std::string contents_;
  std::vector<std::string> columns_;
};

/// A callback from functions; any may be empty.
class LOOM_API LambdaCallback : public Callback {
 public:
  std::function<void(Model&, int, const Logs&)> epoch_end;      ///< Called by on_epoch_end.
  std::function<void(Model&, int64_t, const Logs&)> batch_end;  ///< Called by on_batch_end.
  /// Calls epoch_end when set.
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override {
    if (epoch_end) epoch_end(model, epoch, logs);
  }
  /// Calls batch_end when set.
  void on_batch_end(Model& model, int64_t batch, const Logs& logs) override {
    if (batch_end) batch_end(model, batch, logs);
  }
};

}  // namespace loom::nn
