// SyncBatchNormalization: batch statistics over every rank's batch, with gradients through the
// all-reduces (an all-reduce's gradient is the all-reduce of the output gradients).
#include "loom/creation.hpp"
#include "loom/dist.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"

namespace loom::nn {
namespace {

// The sum over the ranks, differentiable.
Tensor summed_over_ranks(const Tensor& x) {
  return custom_gradient(
      [](const std::vector<Tensor>& in) {
        CustomGradientResult r;
        r.outputs = {dist::all_reduce(in[0])};
        r.backward = [](const std::vector<Tensor>& grads) { return std::vector<Tensor>{dist::all_reduce(grads[0])}; };
        return r;
      },
      {x})[0];
}

}  // namespace

SyncBatchNormalization::SyncBatchNormalization(BatchNormalizationOptions options)
    : BatchNormalization("sync_batch_normalization", std::move(options)) {}

Tensor SyncBatchNormalization::call(const Tensor& x, bool training) {
  if (!training || !dist::initialized() || dist::size() == 1) return BatchNormalization::call(x, training);
  std::vector<int64_t> axes(static_cast<size_t>(x.rank() - 1));
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
  const double local = static_cast<double>(x.numel() / x.shape().back());
  const double count = dist::all_reduce(constant(local)).item<double>();
  // Two passes, as the fused kernel: the variance from centred values, not E[x^2] - E[x]^2.
  const Tensor mean = summed_over_ranks(reduce_sum(x, axes)) / count;
  const Tensor centered = x - mean;
  const Tensor variance = summed_over_ranks(reduce_sum(square(centered), axes)) / count;
  const Tensor y = centered * rsqrt(variance + options().epsilon) * gamma() + beta();
  update_moving_statistics(mean, variance, count);
  return y;
}

}  // namespace loom::nn
