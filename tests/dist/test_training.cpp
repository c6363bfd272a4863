// Data-parallel training against one process: gradient buckets of mixed sizes, a small CNN
// trained with Model::fit on N ranks against the same model trained alone on the global batch
// (float32), a float64 CNN in a custom loop with DistributedOptimizer and Dataset::shard,
// SyncBatchNormalization against BatchNormalization on the global batch, and rank 0 alone
// writing files. Every rank trains the single-process reference itself, so no rank waits.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/dist.hpp"
#include "loom/error.hpp"
#include "loom/nn.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"
#include "support/temp_dir.hpp"

namespace loom {
namespace {

// max |a - b| / max |b| over the elements: the error relative to the tensor's scale.
double relative_error(const Tensor& a, const Tensor& b) {
  const double scale = reduce_max(abs(cast(b, DType::Float64))).item<double>();
  const double diff = reduce_max(abs(cast(a, DType::Float64) - cast(b, DType::Float64))).item<double>();
  return scale > 0 ? diff / scale : diff;
}

double worst_relative_error(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, relative_error(a[i], b[i]));
  return worst;
}

// Rank r's gradient for variable k: a function of both, so the average over ranks is known.
Tensor rank_gradient(const Variable& v, int rank, size_t k) {
  const Tensor i = cast(reshape(arange(0, static_cast<double>(v.numel()), 1, DType::Int64), v.shape()), v.dtype());
  return sin(i * 0.01 + static_cast<double>(k)) * static_cast<double>(rank + 1);
}

TEST(Buckets, GradientsOfMixedSizesAverageAsTheMeanOverRanks) {
  const std::vector<Shape> shapes = {{3}, {250, 1000}, {7}, {64, 64}, {1}, {30000}, {5, 5, 3, 8}, {12000}};
  std::vector<Variable> vars;
  for (size_t k = 0; k < shapes.size(); ++k) {
    vars.emplace_back(zeros(shapes[k], k == 3 ? DType::Float64 : DType::Float32), "v" + std::to_string(k));
  }
  dist::BucketOptions options;
  options.bucket_bytes = 64 << 10;
  dist::GradientBucketer bucketer(vars, options);
  // Buckets hold the variables last to first, one dtype each, at most 64 KiB unless one
  // variable alone is larger.
  size_t planned = 0;
  size_t previous_last = vars.size();
  for (size_t b = 0; b < bucketer.bucket_count(); ++b) {
    const std::vector<size_t> members = bucketer.bucket_members(b);
    int64_t bytes = 0;
    for (size_t m : members) {
      EXPECT_LT(m, previous_last);
      previous_last = m;
      EXPECT_EQ(vars[m].dtype(), vars[members[0]].dtype());
      bytes += vars[m].numel() * static_cast<int64_t>(dtype_size(vars[m].dtype()));
    }
    EXPECT_TRUE(bytes <= options.bucket_bytes || members.size() == 1) << "bucket " << b << ": " << bytes << " bytes";
    planned += members.size();
  }
  EXPECT_EQ(planned, vars.size());
  EXPECT_GE(bucketer.bucket_count(), 5u);

  std::vector<Tensor> grads;
  for (size_t k = 0; k < vars.size(); ++k) grads.push_back(rank_gradient(vars[k], dist::rank(), k));
  const double ranks_mean = (dist::size() + 1) / 2.0;  // mean of (rank + 1)
  for (int round = 0; round < 2; ++round) {  // a second step reuses the plan
    const std::vector<Tensor> averages = bucketer.average(grads);
    ASSERT_EQ(averages.size(), vars.size());
    for (size_t k = 0; k < vars.size(); ++k) {
      const Tensor expected = rank_gradient(vars[k], 0, k) * ranks_mean;
      EXPECT_EQ(averages[k].shape(), vars[k].shape());
      EXPECT_EQ(averages[k].dtype(), vars[k].dtype());
      EXPECT_LT(relative_error(averages[k], expected), vars[k].dtype() == DType::Float64 ? 1e-15 : 1e-6) << "variable " << k;
    }
  }
  const dist::BucketStats stats = bucketer.last_stats();
  EXPECT_EQ(stats.buckets, static_cast<int64_t>(bucketer.bucket_count()));
  int64_t total = 0;
  for (const Variable& v : vars) total += v.numel() * static_cast<int64_t>(dtype_size(v.dtype()));
  EXPECT_EQ(stats.bytes, total);
  EXPECT_GT(stats.communication, 0.0);
}

TEST(Buckets, TheBackwardPassHandsGradientsOverAsTheyAreFinal) {
  // A chain x -> w1 -> w2 -> w3: the backward pass finishes w3 first and w1 last.
  Variable w1(fill(Shape{16, 16}, 0.01 * (dist::rank() + 1) * (dist::rank() + 1)), "w1");
  Variable w2(fill(Shape{16, 16}, 0.02), "w2");
  Variable w3(fill(Shape{16, 4}, 0.03), "w3");
  const std::vector<Variable> vars = {w1, w2, w3};
  dist::BucketOptions options;
  options.bucket_bytes = 1024;  // one variable per bucket
  dist::GradientBucketer bucketer(vars, options);
  ASSERT_EQ(bucketer.bucket_count(), 3u);
  EXPECT_EQ(bucketer.bucket_members(0), std::vector<size_t>{2});
  const Tensor x = ones(Shape{8, 16});
  auto loss_of = [&] { return reduce_sum(matmul(relu(matmul(relu(matmul(x, w1)), w2)), w3)); };

  GradientTape tape;
  bucketer.watch(tape);
  EXPECT_TRUE(bucketer.in_progress());
  const std::vector<Tensor> local = tape.gradient(loss_of(), std::vector<Tensor>(vars.begin(), vars.end()));
  const std::vector<Tensor> watched = bucketer.finish();
  EXPECT_FALSE(bucketer.in_progress());
  // The same averages as averaging the finished gradients afterwards.
  const std::vector<Tensor> after = bucketer.average(local);
  for (size_t k = 0; k < vars.size(); ++k) EXPECT_LT(relative_error(watched[k], after[k]), 1e-7) << "variable " << k;
  // w1 differs per rank, and so does w2's gradient: its average is not this rank's own.
  if (dist::size() > 1) {
    EXPECT_GT(relative_error(watched[1], local[1]), 1e-3);
  }
  EXPECT_THROW(bucketer.finish(), InvalidArgument);  // no step running
  EXPECT_THROW(bucketer.add(3, Tensor()), InvalidArgument);
}

// A small CNN on 8x8 single-channel images, built (so its initial weights come from the seed).
std::shared_ptr<nn::Sequential> small_cnn(uint64_t seed) {
  set_seed(seed);
  nn::Conv2DLayerOptions conv;
  conv.activation = "relu";
  return std::make_shared<nn::Sequential>(
      std::vector<nn::LayerPtr>{std::make_shared<nn::Conv2D>(4, std::vector<int64_t>{3, 3}, conv),
                                std::make_shared<nn::MaxPool2D>(), std::make_shared<nn::Flatten>(),
                                std::make_shared<nn::Dense>(10)},
      Shape{8, 8, 1});
}

// Images whose class shows in their pixels, the same on every rank.
std::pair<Tensor, Tensor> images(int64_t n, DType dtype) {
  const Tensor labels = mod(arange(0, static_cast<double>(n), 1, DType::Int64) * int64_t{7}, constant(int64_t{10}));
  const Tensor pixels = reshape(arange(0, static_cast<double>(n * 64), 1, DType::Float64), Shape{n, 8, 8, 1});
  const Tensor noise = sin(pixels * 0.37);
  const Tensor signal = cos(pixels * 0.05) * reshape(cast(labels, DType::Float64), Shape{n, 1, 1, 1}) * 0.1;
  return {cast(noise + signal, dtype), labels};
}

nn::History fit_cnn(nn::Sequential& model, const Tensor& x, const Tensor& y, bool distributed, int epochs,
                    const std::optional<std::pair<Tensor, Tensor>>& validation = {}) {
  model.compile(nn::SGD(0.05, 0.9), nn::SparseCategoricalCrossentropy(true), {nn::SparseCategoricalAccuracy()});
  nn::FitOptions o;
  o.batch_size = 64;  // the global batch: 64 / size per rank
  o.epochs = epochs;
  o.seed = 11;
  o.verbose = 0;
  o.validation_data = validation;
  if (distributed) {
    dist::BucketOptions buckets;
    buckets.bucket_bytes = 512;  // several buckets even for this small model
    o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>(buckets);
  }
  return model.fit(x, y, o);
}

TEST(Training, FitOnEveryRankEqualsOneProcessOnTheGlobalBatch) {
  const auto [x, y] = images(64 * 20, DType::Float32);  // 20 steps of 64
  const auto [xv, yv] = images(50, DType::Float32);
  auto parallel = small_cnn(3), alone = small_cnn(3);
  const nn::History h_parallel = fit_cnn(*parallel, x, y, true, 1, std::make_pair(xv, yv));
  const nn::History h_alone = fit_cnn(*alone, x, y, false, 1, std::make_pair(xv, yv));
  const double error = worst_relative_error(parallel->get_weights(), alone->get_weights());
  EXPECT_LT(error, 1e-5) << "float32 weights after 20 steps on " << dist::size() << " ranks";
  // The weights moved: the comparison is not between two untrained models.
  EXPECT_GT(worst_relative_error(parallel->get_weights(), small_cnn(3)->get_weights()), 1e-2);
  // Logs are averaged over the ranks: the loss and accuracy of the whole data.
  for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
    ASSERT_EQ(h_parallel.history.count(key), 1u) << key;
    EXPECT_NEAR(h_parallel.history.at(key)[0], h_alone.history.at(key)[0], 1e-5) << key;
  }
  if (dist::rank() == 0) std::printf("fit on %d ranks vs alone: relative weight error %.3g\n", dist::size(), error);
}

TEST(Training, ALastBatchSmallerThanTheRankCountStillMatches) {
  const auto [x, y] = images(64 + 1, DType::Float32);  // the second batch has one example
  auto parallel = small_cnn(5), alone = small_cnn(5);
  fit_cnn(*parallel, x, y, true, 2);
  fit_cnn(*alone, x, y, false, 2);
  EXPECT_LT(worst_relative_error(parallel->get_weights(), alone->get_weights()), 1e-5);
}

// A float64 CNN written with ops: conv 3x3 (4 filters) + relu, 2x2 max pool, dense to 10.
struct Float64Cnn {
  std::vector<Variable> vars;
  explicit Float64Cnn(uint64_t seed) {
    vars.emplace_back(random_normal(Shape{3, 3, 1, 4}, 0, 0.3, DType::Float64, seed), "filter");
    vars.emplace_back(zeros(Shape{4}, DType::Float64), "conv_bias");
    vars.emplace_back(random_normal(Shape{36, 10}, 0, 0.2, DType::Float64, seed + 1), "kernel");
    vars.emplace_back(zeros(Shape{10}, DType::Float64), "bias");
  }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    const Tensor h = max_pool2d(relu(conv2d(x, vars[0], vars[1])));
    const Tensor logits = matmul(reshape(h, Shape{h.dim(0), 36}), vars[2]) + vars[3];
    return reduce_mean(sparse_softmax_cross_entropy_with_logits(y, logits));
  }
  std::vector<Tensor> values() const {
    std::vector<Tensor> out;
    for (const Variable& v : vars) out.push_back(v.read_value());
    return out;
  }
};

TEST(Training, CustomLoopWithDistributedOptimizerEqualsOneProcessInFloat64) {
  const int64_t local = 64 / dist::size(), global = local * dist::size(), steps = 20;
  const auto [x, y] = images(global * steps, DType::Float64);
  Float64Cnn parallel(21), alone(21);
  nn::DistributedOptimizer optimizer(nn::SGD(0.1, 0.5), dist::BucketOptions{256, true});
  optimizer.broadcast_state(parallel.vars);
  // Shard i of batches of `local` holds the examples of batch i of the global batches.
  const data::Dataset mine = data::Dataset::from_tensors({x, y}).shard(dist::size(), dist::rank()).batch(local);
  EXPECT_EQ(mine.cardinality(), steps);
  for (const data::Dataset::Element& batch : mine.collect()) {
    GradientTape tape;
    optimizer.watch(tape, parallel.vars);
    const Tensor loss = parallel.loss(batch[0], batch[1]);
    optimizer.apply_gradients(tape.gradient(loss, std::vector<Tensor>(parallel.vars.begin(), parallel.vars.end())),
                              parallel.vars);
  }
  EXPECT_GT(optimizer.last_stats().buckets, 1);
  const nn::OptimizerPtr sgd = nn::SGD(0.1, 0.5);
  for (const data::Dataset::Element& batch : data::Dataset::from_tensors({x, y}).batch(global).collect()) {
    GradientTape tape;
    const Tensor loss = alone.loss(batch[0], batch[1]);
    sgd->apply_gradients(tape.gradient(loss, std::vector<Tensor>(alone.vars.begin(), alone.vars.end())), alone.vars);
  }
  const double error = worst_relative_error(parallel.values(), alone.values());
  EXPECT_LT(error, 1e-12) << "float64 weights after " << steps << " steps";
  EXPECT_GT(worst_relative_error(parallel.values(), Float64Cnn(21).values()), 1e-2);
  if (dist::rank() == 0) std::printf("custom loop on %d ranks vs alone: relative weight error %.3g\n", dist::size(), error);
  // Without watch(), apply_gradients averages what it gets: identical gradients stay as they are.
  const std::vector<Tensor> same = {zeros(Shape{3, 3, 1, 4}, DType::Float64), zeros(Shape{4}, DType::Float64),
                                    zeros(Shape{36, 10}, DType::Float64), ones(Shape{10}, DType::Float64)};
  const Tensor bias_before = parallel.vars[3].read_value();
  nn::DistributedOptimizer plain(nn::SGD(1.0), dist::BucketOptions{});
  plain.apply_gradients(same, parallel.vars);
  EXPECT_LT(relative_error(parallel.vars[3], bias_before - 1.0), 1e-15);
}

TEST(Training, SyncBatchNormalizationMatchesBatchNormalizationOnTheGlobalBatch) {
  const int64_t rows = 6, size = dist::size(), rank = dist::rank();
  const Tensor all = random_normal(Shape{rows * size, 3, 3, 5}, 1.0, 2.0, DType::Float32, 99);
  const Tensor weights = random_normal(Shape{rows * size, 3, 3, 5}, 0.0, 1.0, DType::Float32, 100);
  const Tensor mine = all[{Slice(rank * rows, (rank + 1) * rows)}];
  const Tensor my_weights = weights[{Slice(rank * rows, (rank + 1) * rows)}];

  nn::SyncBatchNormalization sync;
  nn::BatchNormalization plain;
  GradientTape tape(true);
  tape.watch(mine);
  tape.watch(all);
  const Tensor y_sync = sync(mine, true);
  const Tensor y_plain = plain(all, true);
  // The loss of the whole batch is the sum of the ranks' losses.
  const std::vector<Tensor> g_sync = tape.gradient(reduce_sum(y_sync * my_weights), {mine, sync.gamma(), sync.beta()});
  const std::vector<Tensor> g_plain = tape.gradient(reduce_sum(y_plain * weights), {all, plain.gamma(), plain.beta()});

  EXPECT_LT(relative_error(y_sync, y_plain[{Slice(rank * rows, (rank + 1) * rows)}]), 1e-5);
  EXPECT_LT(relative_error(g_sync[0], g_plain[0][{Slice(rank * rows, (rank + 1) * rows)}]), 1e-4);
  EXPECT_LT(relative_error(dist::all_reduce(g_sync[1]), g_plain[1]), 1e-5);
  EXPECT_LT(relative_error(dist::all_reduce(g_sync[2]), g_plain[2]), 1e-5);
  EXPECT_LT(relative_error(sync.moving_mean(), plain.moving_mean()), 1e-5);
  EXPECT_LT(relative_error(sync.moving_variance(), plain.moving_variance()), 1e-5);
  // Inference uses the moving statistics, as BatchNormalization.
  EXPECT_LT(relative_error(sync(mine, false), plain(mine, false)), 1e-6);
  EXPECT_EQ(nn::layer_from_config("SyncBatchNormalization", sync.get_config())->type_name(), "SyncBatchNormalization");
}

TEST(Training, OnlyRankZeroWritesFilesDuringFit) {
  testing::TempDir dir;  // one per rank
  const auto [x, y] = images(128, DType::Float32);
  auto model = small_cnn(8);
  model->compile(nn::SGD(0.01), nn::SparseCategoricalCrossentropy(true));
  nn::FitOptions o;
  o.batch_size = 64;
  o.verbose = 0;
  o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>();
  o.callbacks = {std::make_shared<nn::ModelCheckpoint>(dir / "weights.safetensors", "loss"),
                 std::make_shared<nn::CSVLogger>(dir / "log.csv")};
  model->fit(x, y, o);
  EXPECT_EQ(std::filesystem::exists(dir / "weights.safetensors"), dist::rank() == 0);
  EXPECT_EQ(std::filesystem::exists(dir / "log.csv"), dist::rank() == 0);
  // Outside fit, every rank writes what it is asked to.
  model->save_weights(dir / "after.safetensors");
  EXPECT_TRUE(std::filesystem::exists(dir / "after.safetensors"));
}

TEST(Training, FitStartsEveryRankFromRankZerosWeights) {
  auto model = small_cnn(100 + static_cast<uint64_t>(dist::rank()));  // different on each rank
  const auto [x, y] = images(64, DType::Float32);
  model->compile(nn::SGD(1e-9), nn::SparseCategoricalCrossentropy(true));
  nn::FitOptions o;
  o.batch_size = 64;
  o.verbose = 0;
  o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>();
  model->fit(x, y, o);
  for (const Tensor& w : model->get_weights()) {
    EXPECT_LT(relative_error(w, dist::broadcast(w, 0)), 1e-12);  // the same on every rank
  }
  EXPECT_LT(worst_relative_error(model->get_weights(), small_cnn(100)->get_weights()), 1e-6);
}

}  // namespace
}  // namespace loom
