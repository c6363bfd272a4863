#pragma once
// A small timing harness for loom's benchmark programs: best-of-N wall time, a printed table
// and a JSON file, so that bench/compare_pytorch.py can put loom and PyTorch side by side.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::bench {

// Best time in seconds of one call of f: repeats f in batches of `inner` calls until `repeats`
// batches ran and at least `min_seconds` passed.
inline double best_time(const std::function<void()>& f, int inner = 1, int repeats = 5,
                        double min_seconds = 0.2) {
  using clock = std::chrono::steady_clock;
  f();  // warm-up: caches, first-use allocations, primitive creation
  double best = 1e30;
  const auto start = clock::now();
  for (int r = 0; r < repeats || std::chrono::duration<double>(clock::now() - start).count() < min_seconds; ++r) {
    const auto t0 = clock::now();
    for (int i = 0; i < inner; ++i) f();
    best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count() / inner);
    if (r > 1000) break;
  }
  return best;
}

struct Row {
  std::string name;
  double seconds;
  std::string metric;  // e.g. "GFLOP/s"
  double value;        // the metric
  std::string versus;  // what the ratio compares against
  double ratio;        // loom / reference throughput (>1 = loom faster), or 0
};

class Table {
 public:
  void add(Row row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::printf("%-42s %12s %14s   %s\n", "benchmark", "time", "throughput", "ratio");
    for (const Row& r : rows_) {
      std::printf("%-42s %10.3f ms %10.2f %-4s", r.name.c_str(), r.seconds * 1e3, r.value, r.metric.c_str());
      if (r.ratio > 0) std::printf("  %.3f x %s", r.ratio, r.versus.c_str());
      std::printf("\n");
    }
  }
  void write_json(const std::string& path, const nlohmann::json& meta) const {
    nlohmann::json j = meta;
    for (const Row& r : rows_) {
      j["results"].push_back({{"name", r.name}, {"seconds", r.seconds}, {"metric", r.metric},
                              {"value", r.value}, {"versus", r.versus}, {"ratio", r.ratio}});
    }
    std::ofstream(path) << j.dump(2) << "\n";
  }

 private:
  std::vector<Row> rows_;
};

// Parses "--json FILE" and "--threads N" style options.
inline std::string option(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace loom::bench
