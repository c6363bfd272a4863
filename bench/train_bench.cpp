// Training benchmarks: an MLP train step (784-256-256-10, batch 256, cross-entropy, SGD) and one
// LeNet (ReLU) epoch on Fashion-MNIST (batch 256, Adam), with the process's peak memory.
// Usage: train_bench [--threads N] [--json FILE] [--data DIR] [--only mlp|lenet]
#include <sys/resource.h>

#include <loom/loom.hpp>
#include <loom/nn.hpp>
#include <thread>

#include "bench_util.hpp"

using namespace loom;
using namespace loom::nn;
using bench::best_time;

namespace {

LayerPtr conv(int64_t filters, const std::string& padding) {
  Conv2DLayerOptions o;
  o.activation = "relu";
  o.padding = padding;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{5, 5}, o);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::stoi(bench::option(argc, argv, "--threads", std::to_string(get_num_threads())));
  const std::string only = bench::option(argc, argv, "--only", "");
  set_num_threads(threads);
  set_seed(1);
  bench::Table table;

  if (only.empty() || only == "mlp") {
    auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(256, "relu"), std::make_shared<Dense>(256, "relu"),
                                                                    std::make_shared<Dense>(10)}, Shape{784});
    model->compile(SGD(0.01), SparseCategoricalCrossentropy(true));
    const Tensor x = random_normal({256, 784}, 0, 1, DType::Float32, 2);
    const Tensor y = random_uniform({256}, 0, 10, DType::Int64, 3);
    const double t = best_time([&] { model->train_step(x, y); }, 5, 10);
    table.add({"MLP 784-256-256-10 train step (batch 256, xent, sgd)", t, "ms", t * 1e3, "", 0});
  }

  const std::string dir = bench::option(argc, argv, "--data", "data/fashion-mnist");
  if ((only.empty() || only == "lenet") && std::ifstream(dir + "/train-images-idx3-ubyte.gz")) {
    const Tensor raw = data::read_idx(dir + "/train-images-idx3-ubyte.gz");
    const Tensor x = reshape(cast(raw, DType::Float32) / 255.0, {raw.dim(0), 28, 28, 1});
    const Tensor y = cast(data::read_idx(dir + "/train-labels-idx1-ubyte.gz"), DType::Int64);
    auto model = std::make_shared<Sequential>(
        std::vector<LayerPtr>{conv(6, "same"), std::make_shared<MaxPool2D>(), conv(16, "valid"), std::make_shared<MaxPool2D>(),
                              std::make_shared<Flatten>(), std::make_shared<Dense>(120, "relu"), std::make_shared<Dense>(84, "relu"),
                              std::make_shared<Dense>(10)},
        Shape{28, 28, 1});
    model->compile(Adam(0.001), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
    FitOptions o;
    o.epochs = 1;
    o.batch_size = 256;
    o.verbose = 0;
    o.seed = 4;
    const auto start = std::chrono::steady_clock::now();
    model->fit(x, y, o);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    table.add({"LeNet epoch on Fashion-MNIST (batch 256, adam)", t, "s", t, "", 0});
    table.add({"LeNet epoch peak resident memory", 0, "MiB", peak_rss_mb(), "", 0});
  }

  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) {
    table.write_json(json, {{"program", "train_bench"}, {"threads", threads},
                            {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return 0;
}
