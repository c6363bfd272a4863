// Data-parallel training: MultiWorkerMirroredStrategy's part of Model::fit and Horovod's
// DistributedOptimizer.
#include "nn/data_parallel.hpp"

#include <cstring>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/model.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"

namespace loom::nn {
namespace {

void require_bucket_bytes(const dist::BucketOptions& options, const char* who) {
  if (options.bucket_bytes <= 0) {
    throw InvalidArgument(std::string("[") + who + "] bucket_bytes must be > 0, got " + std::to_string(options.bucket_bytes));
  }
}

thread_local bool t_rank_zero_writes_only = false;

}  // namespace

void broadcast_optimizer_state(Optimizer& optimizer, const std::vector<Variable>& variables, int root) {
  std::map<std::string, Tensor> state = optimizer.state();
  // Every rank must hold the same entries, or the broadcasts below would pair different tensors.
  const Tensor count = constant(static_cast<int64_t>(state.size()));
  const int64_t most = dist::all_reduce(count, dist::ReduceOp::Max).item<int64_t>();
  const int64_t fewest = dist::all_reduce(count, dist::ReduceOp::Min).item<int64_t>();
  if (most != fewest) {
    throw DistributedError("[broadcast_optimizer_state] the ranks' optimizer states differ (between " +
                           std::to_string(fewest) + " and " + std::to_string(most) +
                           " entries): start every rank from the same checkpoint, or before the first step");
  }
  for (auto& [name, value] : state) value = dist::broadcast(value, root);
  optimizer.set_state(state, variables);
}

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(dist::BucketOptions options) : options_(options) {
  require_bucket_bytes(options, "MultiWorkerMirroredStrategy");
  dist::size();  // DistributedError before dist::init()
}

int MultiWorkerMirroredStrategy::num_replicas_in_sync() const { return dist::size(); }

namespace internal {

DataParallelFit::DataParallelFit(Model& model, MultiWorkerMirroredStrategy& strategy, const std::vector<Tensor>& sample)
    : strategy_(strategy), rank_(dist::rank()), size_(dist::size()), bucketer_([&] {
        bool built = model.built();
        for (Layer* l : model.all_layers()) built = built && l->built();
        if (!built) {  // weights exist only once the model has seen an input
          NoGradGuard no_grad;
          model.call_outputs(sample, sample.size() > 1, false);
        }
        return model.trainable_weights();
      }(), strategy.options()) {
  dist::broadcast_variables(model.weights(), 0);
  broadcast_optimizer_state(*model.optimizer(), model.trainable_weights(), 0);
}

uint64_t DataParallelFit::agree(uint64_t value) const {
  int64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits = dist::broadcast(constant(bits), 0).item<int64_t>();
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

DataParallelFit::Share DataParallelFit::share(int64_t begin, int64_t end) const {
  const int64_t n = end - begin, base = n / size_, extra = n % size_;
  const int64_t first = begin + rank_ * base + std::min<int64_t>(rank_, extra);
  const int64_t rows = base + (rank_ < extra ? 1 : 0);
  if (rows == 0) return Share{begin, begin + 1, 0.0, 0};
  return Share{first, first + rows, static_cast<double>(rows * size_) / static_cast<double>(n), rows};
}

std::vector<Tensor> DataParallelFit::finish() {
  std::vector<Tensor> averages = bucketer_.finish();
  strategy_.record_step(bucketer_.last_stats());
  return averages;
}

void DataParallelFit::abandon_step() {
  if (!bucketer_.in_progress()) return;
  try {
    bucketer_.finish();
  } catch (...) {  // the step failed already; that error is the one to report
  }
}

Logs DataParallelFit::average(const Logs& logs, double examples) const {
  std::vector<double> weighted{examples};
  for (const auto& [name, value] : logs) weighted.push_back(value * examples);
  const std::vector<double> sums = dist::all_reduce(constant(weighted)).to_vector<double>();
  Logs out;
  size_t i = 1;
  for (const auto& [name, value] : logs) {
    const double total = sums[i++];
    out[name] = sums[0] > 0 ? total / sums[0] : value;
  }
  return out;
}

OnlyRankZeroWrites::OnlyRankZeroWrites() : previous_(t_rank_zero_writes_only) { t_rank_zero_writes_only = true; }
OnlyRankZeroWrites::~OnlyRankZeroWrites() { t_rank_zero_writes_only = previous_; }

bool this_rank_writes() { return !t_rank_zero_writes_only || !dist::initialized() || dist::rank() == 0; }

}  // namespace internal

DistributedOptimizer::DistributedOptimizer(OptimizerPtr optimizer, dist::BucketOptions options)
    : optimizer_(std::move(optimizer)), options_(options) {
  if (!optimizer_) throw InvalidArgument("[DistributedOptimizer] the optimizer is null");
  require_bucket_bytes(options, "DistributedOptimizer");
  dist::size();  // DistributedError before dist::init()
}

DistributedOptimizer::~DistributedOptimizer() = default;

dist::GradientBucketer& DistributedOptimizer::bucketer_for(const std::vector<Variable>& variables) {
  std::vector<uint64_t> ids;
  for (const Variable& v : variables) ids.push_back(v.id());
  if (!bucketer_ || ids != bucketed_ids_) {
    bucketer_ = std::make_unique<dist::GradientBucketer>(variables, options_);
    bucketed_ids_ = std::move(ids);
  }
  return *bucketer_;
}

void DistributedOptimizer::watch(GradientTape& tape, const std::vector<Variable>& variables) {
  bucketer_for(variables).watch(tape);
}

void DistributedOptimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& variables) {
  if (grads.size() != variables.size()) {
    throw InvalidArgument("[DistributedOptimizer.apply_gradients] got " + std::to_string(grads.size()) +
                          " gradients for " + std::to_string(variables.size()) + " variables");
  }
  dist::GradientBucketer& bucketer = bucketer_for(variables);
  const std::vector<Tensor> averages = bucketer.in_progress() ? bucketer.finish() : bucketer.average(grads);
  optimizer_->apply_gradients(averages, variables);
}

void DistributedOptimizer::broadcast_state(const std::vector<Variable>& variables, int root) {
  dist::broadcast_variables(variables, root);
  broadcast_optimizer_state(*optimizer_, variables, root);
}

dist::BucketStats DistributedOptimizer::last_stats() const { return bucketer_ ? bucketer_->last_stats() : dist::BucketStats{}; }

}  // namespace loom::nn
