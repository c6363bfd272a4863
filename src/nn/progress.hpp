#pragma once
// Keras' training progress display: a bar redrawn in place on a terminal, one line per epoch
// otherwise (so logs stay readable), nothing when silent.
#include <chrono>
#include <cstdint>
#include <string>

#include "loom/nn/callbacks.hpp"

namespace loom::nn::internal {

class ProgressBar {
 public:
  // verbose: 0 silent, 1 bar (one line when not a terminal), 2 one line per epoch.
  ProgressBar(int epoch, int epochs, int64_t steps, int verbose);
  void update(int64_t step, const Logs& logs);
  void finish(const Logs& logs);

 private:
  std::string line(int64_t step, const Logs& logs, bool done) const;
  int epoch_, epochs_;
  int64_t steps_;
  int verbose_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_logs(const Logs& logs);

}  // namespace loom::nn::internal
