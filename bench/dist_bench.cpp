// Distributed benchmarks, started by mpirun (bench/dist_bench.sh runs the set in RESULTS.md):
//   dist_bench lenet [--threads N] [--repeats R] [--data DIR]
//       a Fashion-MNIST LeNet epoch (global batch 256, Adam): data-parallel over the ranks, or
//       plain fit() with one rank; R epochs, each timed (the slowest rank's time)
//   dist_bench allreduce [--repeats R]
//       all-reduce of float32 buffers from 4 KiB to 64 MiB: time, algorithm and bus bandwidth
//       (busbw = algbw * 2 (n - 1) / n, the bytes each rank's links carry, as nccl-tests)
//   dist_bench overlap [--threads N] [--repeats R] [--bucket-mib M]
//       an MLP (784-2048-2048-2048-10, 10.4M weights, 42 MB of gradients) trained with the
//       buckets launched during the backward pass and only after it: step time, all-reduce
//       time, and the part of it hidden behind the backward pass
// Each row gives the median of R measurements and their range.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "loom/loom.hpp"
#include "loom/nn.hpp"

using namespace loom;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The slowest rank's value: a step is as slow as its slowest rank.
double slowest(double seconds) {
  return dist::size() > 1 ? dist::all_reduce(constant(seconds), dist::ReduceOp::Max).item<double>() : seconds;
}

struct Spread {
  double median, low, high;
};
Spread spread_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

void say(const char* format, double a = 0, double b = 0, double c = 0, double d = 0, double e = 0, double f = 0) {
  if (dist::rank() == 0) std::printf(format, a, b, c, d, e, f);
}

nn::LayerPtr conv(int64_t filters, const std::string& padding) {
  nn::Conv2DLayerOptions o;
  o.activation = "relu";
  o.padding = padding;
  return std::make_shared<nn::Conv2D>(filters, std::vector<int64_t>{5, 5}, o);
}

int lenet(int repeats, const std::string& dir) {
  const Tensor raw = data::read_idx(dir + "/train-images-idx3-ubyte.gz");
  const Tensor x = reshape(cast(raw, DType::Float32) / 255.0, {raw.dim(0), 28, 28, 1});
  const Tensor y = cast(data::read_idx(dir + "/train-labels-idx1-ubyte.gz"), DType::Int64);
  set_seed(1);
  auto model = std::make_shared<nn::Sequential>(
      std::vector<nn::LayerPtr>{conv(6, "same"), std::make_shared<nn::MaxPool2D>(), conv(16, "valid"),
                                std::make_shared<nn::MaxPool2D>(), std::make_shared<nn::Flatten>(),
                                std::make_shared<nn::Dense>(120, "relu"), std::make_shared<nn::Dense>(84, "relu"),
                                std::make_shared<nn::Dense>(10)},
      Shape{28, 28, 1});
  model->compile(nn::Adam(0.001), nn::SparseCategoricalCrossentropy(true), {nn::SparseCategoricalAccuracy()});
  nn::FitOptions o;
  o.batch_size = 256;
  o.verbose = 0;
  o.seed = 4;
  if (dist::size() > 1) o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>();
  std::vector<double> times;
  double accuracy = 0;
  for (int r = 0; r < repeats; ++r) {
    o.initial_epoch = r;
    o.epochs = r + 1;
    dist::barrier();
    const auto start = Clock::now();
    const nn::History h = model->fit(x, y, o);
    times.push_back(slowest(seconds_since(start)));
    accuracy = h.history.at("accuracy").back();
  }
  const Spread s = spread_of(times);
  say("lenet epoch: ranks %.0f threads %.0f median %.3f s (range %.3f .. %.3f), last train accuracy %.4f\n",
      dist::size(), get_num_threads(), s.median, s.low, s.high, accuracy);
  return 0;
}

int allreduce(int repeats) {
  const int n = dist::size();
  if (dist::rank() == 0) std::printf("%10s %12s %12s %12s   %s\n", "bytes", "time us", "algbw GB/s", "busbw GB/s", "busbw range");
  for (int64_t bytes = 4 << 10; bytes <= int64_t{64} << 20; bytes *= 4) {
    const Tensor x = ones(Shape{bytes / 4});
    const int inner = static_cast<int>(std::clamp<int64_t>((int64_t{256} << 20) / bytes, 5, 200));
    dist::all_reduce(x);  // warm-up: buffers, connections
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
      dist::barrier();
      const auto start = Clock::now();
      for (int i = 0; i < inner; ++i) dist::all_reduce(x);
      times.push_back(slowest(seconds_since(start)) / inner);
    }
    const Spread s = spread_of(times);
    const double bus = 2.0 * (n - 1) / n;
    if (dist::rank() == 0) {
      std::printf("%10lld %12.1f %12.3f %12.3f   %.3f .. %.3f\n", static_cast<long long>(bytes), s.median * 1e6,
                  bytes / s.median / 1e9, bytes / s.median / 1e9 * bus, bytes / s.high / 1e9 * bus,
                  bytes / s.low / 1e9 * bus);
    }
  }
  return 0;
}

int overlap(int repeats, int64_t bucket_bytes) {
  const int64_t per_rank = 128, steps = repeats + 1;  // the first step warms up
  const Tensor x = random_normal({per_rank * dist::size() * steps, 784}, 0, 1, DType::Float32, 2);
  const Tensor y = random_uniform({per_rank * dist::size() * steps}, 0, 10, DType::Int64, 3);
  for (bool launch_early : {true, false}) {
    set_seed(1);
    auto model = std::make_shared<nn::Sequential>(
        std::vector<nn::LayerPtr>{std::make_shared<nn::Dense>(2048, "relu"), std::make_shared<nn::Dense>(2048, "relu"),
                                  std::make_shared<nn::Dense>(2048, "relu"), std::make_shared<nn::Dense>(10)},
        Shape{784});
    model->compile(nn::SGD(0.001), nn::SparseCategoricalCrossentropy(true));
    nn::FitOptions o;
    o.batch_size = per_rank * dist::size();
    o.verbose = 0;
    o.shuffle = false;
    o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>(dist::BucketOptions{bucket_bytes, launch_early});
    // Each step's time, all-reduce time and exposed wait, from the end of the step before.
    std::vector<double> step_times, communication, exposed;
    auto clock = std::make_shared<nn::LambdaCallback>();
    Clock::time_point last = Clock::now();
    clock->batch_end = [&](nn::Model&, int64_t batch, const nn::Logs&) {
      const double t = seconds_since(last);
      const dist::BucketStats st = o.strategy->last_step_stats();
      if (batch > 0) {
        step_times.push_back(slowest(t));
        communication.push_back(slowest(st.communication));
        exposed.push_back(slowest(st.exposed));
      }
      last = Clock::now();
    };
    o.callbacks = {clock};
    model->fit(x, y, o);
    const Spread step = spread_of(step_times), comm = spread_of(communication), wait = spread_of(exposed);
    say(launch_early ? "buckets during backward: " : "buckets after backward:  ");
    say("step %.1f ms (range %.1f .. %.1f), all-reduce %.1f ms over %.0f buckets, exposed %.1f ms",
        step.median * 1e3, step.low * 1e3, step.high * 1e3, comm.median * 1e3,
        static_cast<double>(o.strategy->last_step_stats().buckets), wait.median * 1e3);
    say(" (range %.1f .. %.1f): %.0f%% of the all-reduce time hidden behind the backward pass\n", wait.low * 1e3,
        wait.high * 1e3, 100 * (1 - wait.median / comm.median));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dist_bench lenet|allreduce|overlap [options] (under mpirun)\n");
    return 64;
  }
  const std::string what = argv[1];
  const int threads = std::stoi(bench::option(argc, argv, "--threads", "1"));
  const int repeats = std::stoi(bench::option(argc, argv, "--repeats", "3"));
  set_num_threads(threads);
  dist::init("mpi");
  int status = 64;
  if (what == "lenet") status = lenet(repeats, bench::option(argc, argv, "--data", "data/fashion-mnist"));
  if (what == "allreduce") status = allreduce(repeats);
  if (what == "overlap") status = overlap(repeats, std::stoll(bench::option(argc, argv, "--bucket-mib", "4")) << 20);
  dist::finalize();
  return status;
}
