#include "loom/nn/callbacks.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "io/files.hpp"
#include "loom/error.hpp"
#include "loom/nn/model.hpp"
#include "nn/data_parallel.hpp"

namespace loom::nn {
namespace {

double monitored(const Logs& logs, const std::string& monitor, const char* who) {
  auto it = logs.find(monitor);
  if (it == logs.end()) {
    std::string available;
    for (const auto& [k, v] : logs) available += (available.empty() ? "" : ", ") + k;
    throw InvalidArgument(std::string("[") + who + "] '" + monitor + "' is not in the logs (available: " + available + ")");
  }
  return it->second;
}

// "auto": maximise accuracies, minimise everything else (as Keras).
bool maximise(const std::string& mode, const std::string& monitor) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  return monitor.find("acc") != std::string::npos;
}

}  // namespace

Callback::~Callback() = default;

EarlyStopping::EarlyStopping(std::string monitor, double min_delta, int patience, std::string mode, bool restore)
    : monitor_(std::move(monitor)), mode_(std::move(mode)), min_delta_(std::abs(min_delta)), patience_(patience),
      restore_(restore) {
  if (mode_ != "auto" && mode_ != "min" && mode_ != "max") throw InvalidArgument("[EarlyStopping] mode must be auto, min or max");
}

void EarlyStopping::on_train_begin(Model&) {
  wait_ = 0;
  stopped_epoch_ = best_epoch_ = -1;
  best_ = maximise(mode_, monitor_) ? -INFINITY : INFINITY;
  best_weights_.clear();
}

bool EarlyStopping::improved(double value) const {
  return maximise(mode_, monitor_) ? value > best_ + min_delta_ : value < best_ - min_delta_;
}

void EarlyStopping::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  const double value = monitored(logs, monitor_, "EarlyStopping");
  if (improved(value)) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    if (restore_) best_weights_ = model.get_weights();
    return;
  }
  if (++wait_ > patience_) {
    stopped_epoch_ = epoch;
    model.stop_training = true;
  }
}

void EarlyStopping::on_train_end(Model& model) {
  if (restore_ && !best_weights_.empty()) model.set_weights(best_weights_);
}

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, bool save_best_only, std::string mode)
    : path_(std::move(path)), monitor_(std::move(monitor)), mode_(std::move(mode)), save_best_only_(save_best_only) {}

void ModelCheckpoint::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  if (save_best_only_) {
    const double value = monitored(logs, monitor_, "ModelCheckpoint");
    const bool better = !best_ || (maximise(mode_, monitor_) ? value > *best_ : value < *best_);
    if (!better) return;
    best_ = value;
  }
  std::string path = path_;
  const auto at = path.find("{epoch}");
  if (at != std::string::npos) path.replace(at, 7, std::to_string(epoch + 1));
  model.save_weights(path);
}

CSVLogger::CSVLogger(std::string path) : path_(std::move(path)) {}

void CSVLogger::on_train_begin(Model&) {
  contents_.clear();
  columns_.clear();
}

void CSVLogger::on_epoch_end(Model&, int epoch, const Logs& logs) {
  std::ostringstream row;
  if (columns_.empty()) {
    for (const auto& [k, v] : logs) columns_.push_back(k);
    row << "epoch";
    for (const auto& c : columns_) row << "," << c;
    row << "\n";
  }
  row << epoch;
  for (const auto& c : columns_) {
    auto it = logs.find(c);
    row << ",";
    if (it != logs.end()) row << it->second;
  }
  row << "\n";
  contents_ += row.str();
  if (!internal::this_rank_writes()) return;  // data-parallel fit: rank 0 writes
  io::write_file_atomically(path_, std::vector<char>(contents_.begin(), contents_.end()), "CSVLogger");
}

}  // namespace loom::nn
