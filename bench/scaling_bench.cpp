// How cost grows: one LeNet training step (Adam, sparse cross-entropy) at batch sizes 32..1024,
// its time per step and per example, and the peak of live tensor memory during the step, so that
// the expected linear growth can be checked (a flat time per example, memory = fixed + per-example).
// Usage: scaling_bench [--threads N]
#include <loom/loom.hpp>
#include <loom/nn.hpp>

#include <cstdio>

#include "bench_util.hpp"

using namespace loom;
using namespace loom::nn;

namespace {

LayerPtr conv(int64_t filters, const std::string& padding) {
  Conv2DLayerOptions o;
  o.activation = "relu";
  o.padding = padding;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{5, 5}, o);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::stoi(bench::option(argc, argv, "--threads", std::to_string(get_num_threads())));
  set_num_threads(threads);
  set_seed(1);
  auto model = std::make_shared<Sequential>(
      std::vector<LayerPtr>{conv(6, "same"), std::make_shared<MaxPool2D>(), conv(16, "valid"), std::make_shared<MaxPool2D>(),
                            std::make_shared<Flatten>(), std::make_shared<Dense>(120, "relu"), std::make_shared<Dense>(84, "relu"),
                            std::make_shared<Dense>(10)},
      Shape{28, 28, 1});
  model->compile(Adam(0.001), SparseCategoricalCrossentropy(true));
  std::printf("threads=%d\n%-6s %12s %16s %18s\n", threads, "batch", "step ms", "us per example", "peak tensor MiB");
  for (int64_t batch : {32, 64, 128, 256, 512, 1024}) {
    const Tensor x = random_uniform({batch, 28, 28, 1}, 0, 1, DType::Float32, 2);
    const Tensor y = random_uniform({batch}, 0, 10, DType::Int64, 3);
    const double t = bench::best_time([&] { model->train_step(x, y); }, 1, 10, 0.5);
    reset_peak_memory();
    const int64_t before = memory_stats().live_bytes;
    model->train_step(x, y);
    const double peak = static_cast<double>(memory_stats().peak_bytes - before) / (1 << 20);
    std::printf("%-6lld %12.3f %16.2f %18.2f\n", static_cast<long long>(batch), t * 1e3, t * 1e6 / static_cast<double>(batch), peak);
  }
  return 0;
}
