// Training benchmarks: an MLP train step (784-256-256-10, batch 256, cross-entropy, SGD) and one
// epoch on Fashion-MNIST (batch 256, Adam) of LeNet (ReLU; with the process's peak memory after
// it), BN-LeNet and VGG-small (the main job's models). --policy mixed_bfloat16 (a Keras dtype
// policy) makes the layers compute in bfloat16 and names each row with the policy.
// Usage: train_bench [--threads N] [--json FILE] [--data DIR] [--only mlp,lenet,bn-lenet,vgg-small]
//                    [--policy float32|mixed_bfloat16|mixed_float16]
#include <sys/resource.h>

#include <loom/loom.hpp>
#include <loom/nn.hpp>
#include <thread>

#include "bench_util.hpp"

using namespace loom;
using namespace loom::nn;
using bench::best_time;

namespace {

LayerPtr conv(int64_t filters, int64_t k, const std::string& padding, const std::string& activation = "relu") {
  Conv2DLayerOptions o;
  o.activation = activation;
  o.padding = padding;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}
LayerPtr pool() { return std::make_shared<MaxPool2D>(); }
LayerPtr dense(int64_t units, const std::string& activation = "linear") { return std::make_shared<Dense>(units, activation); }
// The models of bench/compare_pytorch.py's EPOCH script, layer for layer.
std::shared_ptr<Sequential> epoch_model(const std::string& name) {
  using L = std::vector<LayerPtr>;
  const Shape input{28, 28, 1};
  if (name == "lenet") {
    return std::make_shared<Sequential>(L{conv(6, 5, "same"), pool(), conv(16, 5, "valid"), pool(), std::make_shared<Flatten>(),
                                          dense(120, "relu"), dense(84, "relu"), dense(10)}, input);
  }
  if (name == "bn-lenet") {
    // Flat, as the main job's (examples/fashion_mnist.cpp): each relu before a pooling runs fused with it.
    const auto bn = [] { return std::make_shared<BatchNormalization>(); };
    const auto relu = [] { return std::make_shared<Activation>("relu"); };
    return std::make_shared<Sequential>(L{conv(6, 5, "same", "linear"), bn(), relu(), pool(), conv(16, 5, "valid", "linear"), bn(),
                                          relu(), pool(), std::make_shared<Flatten>(), dense(120), bn(), relu(), dense(84), bn(),
                                          relu(), dense(10)},
                                        input);
  }
  return std::make_shared<Sequential>(L{conv(16, 3, "same"), pool(), conv(32, 3, "same"), pool(), conv(64, 3, "same"),
                                        conv(64, 3, "same"), pool(), std::make_shared<Flatten>(), dense(128, "relu"),
                                        std::make_shared<Dropout>(0.5), dense(10)}, input);
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
  const auto wanted = [&](const std::string& name) { return only.empty() || ("," + only + ",").find("," + name + ",") != std::string::npos; };
  const std::string policy = bench::option(argc, argv, "--policy", "float32");
  const std::string suffix = policy == "float32" ? "" : " [" + policy + "]";
  set_global_policy(policy);  // before the models are made: each layer takes the policy then
  set_num_threads(threads);
  set_seed(1);
  bench::Table table;

  if (wanted("mlp")) {
    auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(256, "relu"), std::make_shared<Dense>(256, "relu"),
                                                                    std::make_shared<Dense>(10)}, Shape{784});
    model->compile(SGD(0.01), SparseCategoricalCrossentropy(true));
    const Tensor x = random_normal({256, 784}, 0, 1, DType::Float32, 2);
    const Tensor y = random_uniform({256}, 0, 10, DType::Int64, 3);
    const double t = best_time([&] { model->train_step(x, y); }, 5, 10);
    table.add({"MLP 784-256-256-10 train step (batch 256, xent, sgd)" + suffix, t, "ms", t * 1e3, "", 0});
  }

  const std::string dir = bench::option(argc, argv, "--data", "data/fashion-mnist");
  const bool epochs = wanted("lenet") || wanted("bn-lenet") || wanted("vgg-small");
  if (epochs && std::ifstream(dir + "/train-images-idx3-ubyte.gz")) {
    const Tensor raw = data::read_idx(dir + "/train-images-idx3-ubyte.gz");
    const Tensor x = reshape(cast(raw, DType::Float32) / 255.0, {raw.dim(0), 28, 28, 1});
    const Tensor y = cast(data::read_idx(dir + "/train-labels-idx1-ubyte.gz"), DType::Int64);
    for (const auto& [name, title] : {std::pair<std::string, std::string>{"lenet", "LeNet"}, {"bn-lenet", "BN-LeNet"}, {"vgg-small", "VGG-small"}}) {
      if (!wanted(name)) continue;
      auto model = epoch_model(name);
      model->compile(Adam(0.001), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
      FitOptions o;
      o.epochs = 1;
      o.batch_size = 256;
      o.verbose = 0;
      o.seed = 4;
      const auto start = std::chrono::steady_clock::now();
      model->fit(x, y, o);
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      table.add({title + " epoch on Fashion-MNIST (batch 256, adam)" + suffix, t, "s", t, "", 0});
      if (name == "lenet") table.add({"LeNet epoch peak resident memory" + suffix, 0, "MiB", peak_rss_mb(), "", 0});
    }
  }

  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) {
    table.write_json(json, {{"program", "train_bench"}, {"threads", threads}, {"policy", policy},
                            {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return 0;
}
