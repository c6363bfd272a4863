// Per-op latency micro-benchmarks with Google Benchmark, for developers watching the dispatcher's
// overhead: build/bench/op_micro_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <loom/loom.hpp>

using namespace loom;

static void BM_TinyAdd(benchmark::State& state) {
  const Tensor a = constant({1.0f}), b = constant({2.0f});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
}
BENCHMARK(BM_TinyAdd);

static void BM_ScalarMul(benchmark::State& state) {
  const Tensor a = constant({1.0f, 2.0f, 3.0f});
  for (auto _ : state) benchmark::DoNotOptimize(a * 2.0);
}
BENCHMARK(BM_ScalarMul);

static void BM_Reshape(benchmark::State& state) {
  const Tensor a = zeros({4, 6});
  for (auto _ : state) benchmark::DoNotOptimize(reshape(a, {6, 4}));
}
BENCHMARK(BM_Reshape);

static void BM_MatMul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = random_normal({n, n}, 0, 1, DType::Float32, 1), b = random_normal({n, n}, 0, 1, DType::Float32, 2);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  state.SetItemsProcessed(state.iterations() * 2 * n * n * n);
}
BENCHMARK(BM_MatMul)->Arg(16)->Arg(64)->Arg(256);

static void BM_TapeStep(benchmark::State& state) {
  Variable w(constant({1.0f, 2.0f, 3.0f, 4.0f}));
  for (auto _ : state) {
    GradientTape tape;
    benchmark::DoNotOptimize(tape.gradient(reduce_sum(w * w + w), w));
  }
}
BENCHMARK(BM_TapeStep);

BENCHMARK_MAIN();
