// fill, range and the Philox random generators on the CPU.
#include <cmath>
#include <limits>
#include <type_traits>

#include "loom/backend/philox.hpp"
#include "cpu/loops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

// Fills out[i] = f(i) in parallel.
template <class T, class F>
void generate(Tensor& out, int64_t grain, F f) {
  T* p = static_cast<T*>(out.data_ptr());
  const int64_t n = out.numel();
  parallel_chunks(n, detail::threads_for(n, grain), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = f(i);
  });
}

void fill_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double value = call.attrs.get_float("value", call.name());
  visit_all(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = from_double<T>(value);
    generate<T>(out[0], kCheapGrain, [v](int64_t) { return v; });
  });
}

void range_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double start = call.attrs.get_float("start", call.name());
  const double delta = call.attrs.get_float("delta", call.name());
  visit_numeric(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<T>(out[0], kCheapGrain, [=](int64_t i) { return from_double<T>(start + static_cast<double>(i) * delta); });
  });
}

uint64_t seed_of(const OpCall& call) {
  return static_cast<uint64_t>(call.attrs.get_int("seed", call.name()));
}

void random_normal_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double mean = call.attrs.get_float("mean", call.name());
  const double stddev = call.attrs.get_float("stddev", call.name());
  const uint64_t seed = seed_of(call);
  visit_float(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<T>(out[0], kExpensiveGrain, [=](int64_t i) {
      return static_cast<T>(mean + stddev * philox::normal(philox::draw(seed, static_cast<uint64_t>(i), 0)));
    });
  });
}

void truncated_normal_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double mean = call.attrs.get_float("mean", call.name());
  const double stddev = call.attrs.get_float("stddev", call.name());
  const uint64_t seed = seed_of(call);
  visit_float(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<T>(out[0], kExpensiveGrain, [=](int64_t i) {
      return static_cast<T>(mean + stddev * philox::truncated_normal(seed, static_cast<uint64_t>(i)));
    });
  });
}

void random_uniform_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double lo = call.attrs.get_float("minval", call.name());
  const double hi = call.attrs.get_float("maxval", call.name());
  const uint64_t seed = seed_of(call);
  visit_numeric(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<T>(out[0], kExpensiveGrain, [=](int64_t i) {
      const philox::Block b = philox::draw(seed, static_cast<uint64_t>(i), 0);
      if constexpr (std::is_same_v<T, float>) {
        const float v = static_cast<float>(lo) + static_cast<float>(hi - lo) * philox::uniform_float(b.w[0]);
        return v < static_cast<float>(hi) ? v : static_cast<float>(lo);  // rounding never reaches maxval
      } else if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(lo + (hi - lo) * philox::uniform_double(b.w[0], b.w[1]));
      } else {  // integers in [minval, maxval)
        const auto span = static_cast<uint64_t>(static_cast<int64_t>(hi) - static_cast<int64_t>(lo));
        const uint64_t bits = (static_cast<uint64_t>(b.w[0]) << 32) | b.w[1];
        return static_cast<T>(static_cast<int64_t>(lo) + static_cast<int64_t>(bits % span));
      }
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_creation) {
  const DeviceType cpu = DeviceType::CPU;
  register_kernel("fill", cpu, fill_kernel, kAllTypes);
  register_kernel("range", cpu, range_kernel, kNumeric);
  register_kernel("random_normal", cpu, random_normal_kernel, kFloatTypes);
  register_kernel("truncated_normal", cpu, truncated_normal_kernel, kFloatTypes);
  register_kernel("random_uniform", cpu, random_uniform_kernel,
                  kFloatTypes | mask_of({DType::Int32, DType::Int64}));
}

}  // namespace loom::cpu
