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
using Logs = std::map<std::string, double>;

class LOOM_API Callback {
 public:
  virtual ~Callback();
  virtual void on_train_begin(Model&) {}
  virtual void on_epoch_begin(Model&, int /*epoch*/) {}
  virtual void on_batch_end(Model&, int64_t /*batch*/, const Logs&) {}
  virtual void on_epoch_end(Model&, int /*epoch*/, const Logs&) {}
  virtual void on_train_end(Model&) {}
};
using CallbackPtr = std::shared_ptr<Callback>;

// Stops when `monitor` has not improved by min_delta for `patience` epochs. With
// restore_best_weights, the best epoch's weights are restored at the end of training, whether
// it stopped early or ran all epochs.
class LOOM_API EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor = "val_loss", double min_delta = 0.0, int patience = 0,
                std::string mode = "auto", bool restore_best_weights = false);
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  void on_train_end(Model& model) override;
  int stopped_epoch() const { return stopped_epoch_; }
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

// Saves weights (safetensors, atomically) after each epoch, or only when `monitor` improved.
// "{epoch}" in the path is replaced by the 1-based epoch number.
class LOOM_API ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false,
                           std::string mode = "auto");
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

 private:
  std::string path_, monitor_, mode_;
  bool save_best_only_;
  std::optional<double> best_;
};

// Appends one CSV row of logs per epoch (header first); the file is rewritten atomically.
class LOOM_API CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path);
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;

 private:
  std::string path_;
  std::string contents_;
  std::vector<std::string> columns_;
};

// A callback from functions; any may be empty.
class LOOM_API LambdaCallback : public Callback {
 public:
  std::function<void(Model&, int, const Logs&)> epoch_end;
  std::function<void(Model&, int64_t, const Logs&)> batch_end;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override {
    if (epoch_end) epoch_end(model, epoch, logs);
  }
  void on_batch_end(Model& model, int64_t batch, const Logs& logs) override {
    if (batch_end) batch_end(model, batch, logs);
  }
};

}  // namespace loom::nn
