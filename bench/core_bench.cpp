// Foundation benchmarks: matmul vs raw OpenBLAS, elementwise bandwidth vs memcpy, broadcast
// cost and per-op overhead. Usage: core_bench [--threads N] [--json FILE]
#include <cblas.h>

#include <cstring>
#include <loom/loom.hpp>
#include <thread>

#include "bench_util.hpp"

using namespace loom;
using bench::best_time;

int main(int argc, char** argv) {
  const int threads = std::stoi(bench::option(argc, argv, "--threads", std::to_string(get_num_threads())));
  set_num_threads(threads);
  bench::Table table;

  for (int64_t n : {256, 1024, 2048}) {
    const Tensor a = random_normal({n, n}, 0, 1, DType::Float32, 1);
    const Tensor b = random_normal({n, n}, 0, 1, DType::Float32, 2);
    Tensor c = empty({n, n});
    const double flops = 2.0 * n * n * n;
    const double t_loom = best_time([&] { matmul(a, b); });
    const int ni = static_cast<int>(n);
    const double t_blas = best_time([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f,
                  static_cast<const float*>(a.data_ptr()), ni, static_cast<const float*>(b.data_ptr()), ni,
                  0.0f, static_cast<float*>(c.data_ptr()), ni);
    });
    const std::string name = "matmul f32 " + std::to_string(n);
    table.add({name + " (cblas_sgemm)", t_blas, "GFLOP/s", flops / t_blas / 1e9, "", 0});
    table.add({name, t_loom, "GFLOP/s", flops / t_loom / 1e9, "raw sgemm", t_blas / t_loom});
  }

  for (int64_t n : {int64_t{1} << 20, int64_t{1} << 24}) {
    const Tensor a = random_uniform({n}, 0, 1, DType::Float32, 3);
    const Tensor b = random_uniform({n}, 0, 1, DType::Float32, 4);
    Tensor dst = empty({n});
    const double bytes = 4.0 * static_cast<double>(n);
    const double t_copy = best_time([&] { std::memcpy(dst.data_ptr(), a.data_ptr(), static_cast<size_t>(bytes)); });
    const double copy_gbs = 2 * bytes / t_copy / 1e9;  // read + write
    const std::string size = n == (1 << 20) ? "1M" : "16M";
    table.add({"memcpy f32 " + size, t_copy, "GB/s", copy_gbs, "", 0});
    const double t_add = best_time([&] { add(a, b); });
    table.add({"add f32 " + size, t_add, "GB/s", 3 * bytes / t_add / 1e9, "memcpy GB/s", 3 * bytes / t_add / 1e9 / copy_gbs});
    const double t_mul = best_time([&] { mul(a, b); });
    table.add({"mul f32 " + size, t_mul, "GB/s", 3 * bytes / t_mul / 1e9, "memcpy GB/s", 3 * bytes / t_mul / 1e9 / copy_gbs});
    const int64_t m = 1024;
    const Tensor mat = reshape(a, {n / m, m});
    const Tensor row = random_uniform({m}, 0, 1, DType::Float32, 5);
    const double t_bcast = best_time([&] { add(mat, row); });
    table.add({"broadcast add (N x 1024) + (1024) " + size, t_bcast, "GB/s", 2 * bytes / t_bcast / 1e9,
               "same-shape add time", t_add / t_bcast});
  }

  const Tensor s1 = constant({1.0f}), s2 = constant({2.0f});
  const double t_tiny = best_time([&] { add(s1, s2); }, 1000, 20);
  table.add({"tiny add (1 element)", t_tiny, "ns/op", t_tiny * 1e9, "", 0});

  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) {
    table.write_json(json, {{"program", "core_bench"}, {"threads", threads},
                            {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return 0;
}
