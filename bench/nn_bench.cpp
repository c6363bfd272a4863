// Neural-network op benchmarks (forward + backward through the tape), matching the PyTorch
// workloads of compare_pytorch.py. --policy mixed_bfloat16 runs them on bfloat16 inputs and
// parameters (what a layer under that Keras policy computes in) and names each row with it.
// Usage: nn_bench [--threads N] [--json FILE] [--policy float32|mixed_bfloat16|mixed_float16]
#include <loom/loom.hpp>
#include <loom/nn.hpp>
#include <thread>

#include "bench_util.hpp"

using namespace loom;
using bench::best_time;

namespace {

// Forward f(x, params) then backward with a fixed output gradient, for x and every parameter.
double step_time(const Tensor& x, const std::vector<Tensor>& params, const std::function<Tensor(const Tensor&)>& f) {
  const Tensor dy = cast(random_normal(f(x).shape(), 0, 1, DType::Float32, 99), x.dtype());
  std::vector<Tensor> sources{x};
  sources.insert(sources.end(), params.begin(), params.end());
  return best_time([&] {
    GradientTape tape;
    tape.watch(sources);
    const Tensor y = f(x);
    tape.gradient(y, sources, {dy});
  }, 1, 5, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::stoi(bench::option(argc, argv, "--threads", std::to_string(get_num_threads())));
  set_num_threads(threads);
  const nn::Policy policy(bench::option(argc, argv, "--policy", "float32"));
  const std::string suffix = policy.is_mixed() ? " [" + policy.name() + "]" : "";
  const auto low = [&](const Tensor& t) { return cast(t, policy.compute_dtype()); };
  bench::Table table;
  Conv2DOptions same;
  same.padding = "same";

  {
    const Tensor x = low(random_normal({256, 28, 28, 1}, 0, 1, DType::Float32, 1));
    const Tensor w = low(random_normal({5, 5, 1, 6}, 0, 0.1, DType::Float32, 2)), b = low(zeros({6}));
    const double t = step_time(x, {w, b}, [&](const Tensor& in) { return conv2d(in, w, b, same); });
    table.add({"conv2d fwd+bwd LeNet conv1 (256x28x28x1 -> 6, 5x5)" + suffix, t, "ms", t * 1e3, "", 0});
  }
  const Tensor vgg_x = low(random_normal({32, 32, 32, 64}, 0, 1, DType::Float32, 3));
  {
    const Tensor w = low(random_normal({3, 3, 64, 64}, 0, 0.05, DType::Float32, 4)), b = low(zeros({64}));
    const double t = step_time(vgg_x, {w, b}, [&](const Tensor& in) { return conv2d(in, w, b, same); });
    table.add({"conv2d fwd+bwd VGG layer (32x32x32x64 -> 64, 3x3)" + suffix, t, "ms", t * 1e3, "", 0});
  }
  {
    const double t = step_time(vgg_x, {}, [&](const Tensor& in) { return max_pool2d(in); });
    table.add({"max_pool2d fwd+bwd (32x32x32x64, 2x2/2)" + suffix, t, "ms", t * 1e3, "", 0});
  }
  {
    const Tensor gamma = low(ones({64})), beta = low(zeros({64}));
    const double t = step_time(vgg_x, {gamma, beta}, [&](const Tensor& in) { return batch_norm_training(in, gamma, beta).y; });
    table.add({"batch_norm fwd+bwd (32x32x32x64)" + suffix, t, "ms", t * 1e3, "", 0});
  }

  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) {
    table.write_json(json, {{"program", "nn_bench"}, {"threads", threads}, {"policy", policy.name()},
                            {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return 0;
}
