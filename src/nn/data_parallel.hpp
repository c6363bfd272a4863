#pragma once
// The distributed side of Model::fit with a MultiWorkerMirroredStrategy: the start from rank
// 0's state, each rank's share of a global batch, the gradient averaging of a step, logs averaged
// over the ranks, and rank 0 alone writing files.
#include <cstdint>
#include <vector>

#include "loom/dist.hpp"
#include "loom/nn/callbacks.hpp"
#include "loom/nn/distributed.hpp"

namespace loom::nn {
class Model;

namespace internal {

class DataParallelFit {
 public:
  // Builds `model` if needed (on `sample`, one example per input) and starts every rank from
  // rank 0's weights and optimizer state.
  DataParallelFit(Model& model, MultiWorkerMirroredStrategy& strategy, const std::vector<Tensor>& sample);

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Rank 0's value, on every rank (the shuffling seed).
  uint64_t agree(uint64_t value) const;

  // This rank's rows [first, last) of the global batch of rows [begin, end), and the weight of
  // its loss (its share of the batch times the rank count, so that the average of the ranks'
  // gradients is the gradient of the whole batch). A rank left without rows replays row `begin`
  // with weight 0.
  struct Share {
    int64_t first, last;
    double weight;
    int64_t examples;  // rows that count (0 for a replayed row)
  };
  Share share(int64_t begin, int64_t end) const;

  // The gradient averaging of one step: watch() before the tape's gradient(), finish() after.
  void watch(GradientTape& tape) { bucketer_.watch(tape); }
  std::vector<Tensor> finish();
  // After a failed step: completes the step's collectives (so that every rank issued the same
  // ones) and ignores what they report.
  void abandon_step();

  // Each value averaged over the ranks, weighted by the examples each rank's value covers.
  Logs average(const Logs& logs, double examples) const;

 private:
  MultiWorkerMirroredStrategy& strategy_;
  int rank_, size_;
  dist::GradientBucketer bucketer_;
};

// While one lives on this thread, ranks other than 0 of a distributed job write no files.
class OnlyRankZeroWrites {
 public:
  OnlyRankZeroWrites();
  ~OnlyRankZeroWrites();
  OnlyRankZeroWrites(const OnlyRankZeroWrites&) = delete;
  OnlyRankZeroWrites& operator=(const OnlyRankZeroWrites&) = delete;

 private:
  bool previous_;
};
// False on ranks other than 0 while an OnlyRankZeroWrites lives on this thread.
bool this_rank_writes();

}  // namespace internal
}  // namespace loom::nn
