// Gradient-tape benchmarks: a tiny step (per-op and tape overhead) and an MLP training step.
// Usage: autograd_bench [--threads N] [--json FILE]
#include <loom/loom.hpp>
#include <thread>

#include "bench_util.hpp"

using namespace loom;
using bench::best_time;

int main(int argc, char** argv) {
  const int threads = std::stoi(bench::option(argc, argv, "--threads", std::to_string(get_num_threads())));
  set_num_threads(threads);
  bench::Table table;

  {  // z = sum(w * w + w), dz/dw
    Variable w(constant({1.0f, 2.0f, 3.0f, 4.0f}), "w");
    const double t = best_time([&] {
      GradientTape tape;
      const Tensor z = reduce_sum(w * w + w);
      tape.gradient(z, w);
    }, 200, 20);
    table.add({"tape step sum(w*w + w)", t, "us", t * 1e6, "", 0});
  }

  {  // MLP 784-256-256-10, batch 256, squared loss, SGD
    const int64_t batch = 256;
    const Tensor x = random_normal({batch, 784}, 0, 1, DType::Float32, 1);
    const Tensor y = random_normal({batch, 10}, 0, 1, DType::Float32, 2);
    std::vector<Variable> params = {
        Variable(random_normal({784, 256}, 0, 0.05, DType::Float32, 3), "w1"), Variable(zeros({256}), "b1"),
        Variable(random_normal({256, 256}, 0, 0.05, DType::Float32, 4), "w2"), Variable(zeros({256}), "b2"),
        Variable(random_normal({256, 10}, 0, 0.05, DType::Float32, 5), "w3"), Variable(zeros({10}), "b3")};
    const std::vector<Tensor> sources(params.begin(), params.end());
    const double t = best_time([&] {
      GradientTape tape;
      const Tensor h1 = relu(matmul(x, params[0]) + params[1]);
      const Tensor h2 = relu(matmul(h1, params[2]) + params[3]);
      const Tensor out = matmul(h2, params[4]) + params[5];
      const Tensor loss = reduce_mean(square(out - y));
      const auto grads = tape.gradient(loss, sources);
      for (size_t i = 0; i < params.size(); ++i) params[i].assign_sub(grads[i] * 0.01);
    }, 5, 10);
    table.add({"MLP 784-256-256-10 step (batch 256, mse, sgd)", t, "ms", t * 1e3, "", 0});
  }

  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) {
    table.write_json(json, {{"program", "autograd_bench"}, {"threads", threads},
                            {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return 0;
}
