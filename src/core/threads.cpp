#include "core/thread_budget.hpp"

#include <omp.h>

#include <atomic>
#include <string>

#include "loom/error.hpp"
#include "loom/threads.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace loom {
namespace {

int default_threads() {
  const int n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

std::atomic<int>& thread_count() {
  static std::atomic<int> count{default_threads()};
  return count;
}
std::atomic<uint32_t> settings_version{1};
thread_local uint32_t seen_version = 0;

}  // namespace

void set_num_threads(int n) {
  if (n < 1) {
    throw InvalidArgument("[set_num_threads] thread count must be at least 1, got " +
                          std::to_string(n));
  }
  thread_count().store(n);
  settings_version.fetch_add(1);
  detail::sync_thread_settings();
}

int get_num_threads() { return thread_count().load(std::memory_order_relaxed); }

namespace detail {

void sync_thread_settings() {
  const uint32_t v = settings_version.load(std::memory_order_acquire);
  if (v == seen_version) return;
  seen_version = v;
  const int n = get_num_threads();
  omp_set_num_threads(n);  // oneDNN and loom's loops use the calling thread's OpenMP setting
  openblas_set_num_threads(n);  // the OpenMP build of OpenBLAS shares that pool
}

int threads_for(int64_t work, int64_t grain) {
  if (work < grain * 2) return 1;
  const int64_t by_work = work / grain;
  const int n = get_num_threads();
  return static_cast<int>(by_work < n ? by_work : n);
}

}  // namespace detail
}  // namespace loom
