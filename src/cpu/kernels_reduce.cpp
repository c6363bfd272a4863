// Reductions on the CPU. The input is viewed as [outer, reduced, inner] (K0, R, K1) after
// merging adjacent axes; layouts that do not fit are first copied so the reduced axes are last.
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/loops.hpp"
#include "cpu/wrapping.hpp"
#include "loom/backend/kernel.hpp"
#include "loom/ops.hpp"

namespace loom::cpu {
namespace {

struct Plan {
  Tensor x;  // contiguous
  int64_t outer = 1, reduced = 1, inner = 1;
};

Plan plan_reduction(const Tensor& input, const std::vector<int>& axes) {
  std::vector<bool> is_reduced(static_cast<size_t>(input.rank()), false);
  for (int a : axes) is_reduced[static_cast<size_t>(a)] = true;
  // Groups of adjacent axes of one kind, ignoring size-1 axes.
  std::vector<std::pair<bool, int64_t>> groups;
  for (int i = 0; i < input.rank(); ++i) {
    const int64_t n = input.shape()[i];
    if (n == 1) continue;
    const bool r = is_reduced[static_cast<size_t>(i)];
    if (!groups.empty() && groups.back().first == r) groups.back().second *= n;
    else groups.emplace_back(r, n);
  }
  Plan p;
  const bool fits = groups.size() <= 2 || (groups.size() == 3 && groups[1].first);
  if (fits) {
    p.x = input.contiguous();
    size_t g = 0;
    if (g < groups.size() && !groups[g].first) p.outer = groups[g++].second;
    if (g < groups.size() && groups[g].first) p.reduced = groups[g++].second;
    if (g < groups.size()) p.inner = groups[g].second;
    return p;
  }
  // Move reduced axes last and copy: [kept..., reduced...].
  std::vector<int64_t> perm;
  for (int i = 0; i < input.rank(); ++i) {
    if (!is_reduced[static_cast<size_t>(i)]) {
      perm.push_back(i);
      p.outer *= input.shape()[i];
    }
  }
  for (int a : axes) {
    perm.push_back(a);
    p.reduced *= input.shape()[static_cast<size_t>(a)];
  }
  p.x = transpose(input, perm).contiguous();
  return p;
}

// Reducer concept: Acc init(); Acc step(Acc, T); Acc combine(Acc, Acc); Out finish(Acc).

// Few values kept per reduced row, e.g. a bias gradient ([N*H*W, C] summed over its rows): the
// R rows of one outer index are one contiguous block, read as wide rows of m*K1 values (which
// vectorize, where rows of a few values did not) in chunks split across threads, also when
// there is a single outer index; each chunk's m partial sums per value are folded, then the
// chunks combined. Arrays, not std::vector: a vector<bool> packs bits that threads would share.
template <class T, class Acc, class Out, class Reducer>
void reduce_narrow_rows(const T* x, int64_t K0, int64_t R, int64_t K1, Out* out, const Reducer& r) {
  const int64_t m = std::max<int64_t>(1, 256 / K1);  // rows per wide row
  const int64_t wide = m * K1, groups = R / m;
  const int nt = detail::threads_for(K0 * R * K1, kCheapGrain);
  const int64_t chunks = K0 >= nt ? 1 : nt;  // chunks per outer index
  std::unique_ptr<Acc[]> partial(new Acc[static_cast<size_t>(K0 * chunks * K1)]);
  parallel_chunks(K0 * chunks, nt, [&](int64_t tb, int64_t te) {
    std::unique_ptr<Acc[]> acc(new Acc[static_cast<size_t>(wide)]);
    for (int64_t task = tb; task < te; ++task) {
      const int64_t o = task / chunks, c = task % chunks;
      for (int64_t t = 0; t < wide; ++t) acc[t] = r.init();
      const T* block = x + o * R * K1;
      const int64_t g0 = groups * c / chunks, g1 = groups * (c + 1) / chunks;
      if constexpr (requires { r.add_rows(block, g0, g1, wide, acc.get()); }) {
        r.add_rows(block, g0, g1, wide, acc.get());
      } else {
        for (int64_t g = g0; g < g1; ++g) {
          const T* row = block + g * wide;
          for (int64_t t = 0; t < wide; ++t) acc[t] = r.step(acc[t], row[t]);
        }
      }
      if (c == chunks - 1) {  // rows after the last whole wide row
        for (int64_t i = groups * m; i < R; ++i) {
          for (int64_t j = 0; j < K1; ++j) acc[j] = r.step(acc[j], block[i * K1 + j]);
        }
      }
      for (int64_t j = 0; j < K1; ++j) {
        Acc a = acc[j];
        for (int64_t k = 1; k < m; ++k) a = r.combine(a, acc[k * K1 + j]);
        partial[task * K1 + j] = a;
      }
    }
  });
  for (int64_t o = 0; o < K0; ++o) {
    for (int64_t j = 0; j < K1; ++j) {
      Acc a = partial[o * chunks * K1 + j];
      for (int64_t c = 1; c < chunks; ++c) a = r.combine(a, partial[(o * chunks + c) * K1 + j]);
      out[o * K1 + j] = r.finish(a);
    }
  }
}

template <class T, class Acc, class Out, class Reducer>
void run_reduction(const Plan& p, Out* out, const Reducer& r) {
  const T* x = static_cast<const T*>(p.x.data_ptr());
  const int64_t K0 = p.outer, R = p.reduced, K1 = p.inner;
  if (K1 == 1) {
    // Each output reduces a contiguous run of R values.
    if (K0 == 1 && R >= 2 * kCheapGrain) {  // one big reduction: split R across threads
      const int nt = detail::threads_for(R, kCheapGrain);
      std::vector<Acc> partial(static_cast<size_t>(nt), r.init());
      parallel_chunks(nt, nt, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          const int64_t b = R * t / nt, e = R * (t + 1) / nt;
          Acc acc = r.init();
          for (int64_t i = b; i < e; ++i) acc = r.step(acc, x[i]);
          partial[static_cast<size_t>(t)] = acc;
        }
      });
      Acc acc = r.init();
      for (const Acc& a : partial) acc = r.combine(acc, a);
      out[0] = r.finish(acc);
      return;
    }
    parallel_chunks(K0, detail::threads_for(K0 * R, kCheapGrain), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = x + o * R;
        Acc acc = r.init();
        for (int64_t i = 0; i < R; ++i) acc = r.step(acc, row[i]);
        out[o] = r.finish(acc);
      }
    });
    return;
  }
  if (K1 > 0 && K1 < 64) {
    reduce_narrow_rows<T, Acc>(x, K0, R, K1, out, r);
    return;
  }
  // Inner axis kept: accumulate whole rows (vectorises across the inner axis).
  const int64_t tasks = K0 * ((K1 + 255) / 256);
  parallel_chunks(tasks, detail::threads_for(K0 * R * K1, kCheapGrain), [&](int64_t tb, int64_t te) {
    std::vector<Acc> acc(256);
    for (int64_t task = tb; task < te; ++task) {
      const int64_t o = task % K0;
      const int64_t j0 = (task / K0) * 256;
      const int64_t width = std::min<int64_t>(256, K1 - j0);
      for (int64_t j = 0; j < width; ++j) acc[static_cast<size_t>(j)] = r.init();
      for (int64_t i = 0; i < R; ++i) {
        const T* row = x + (o * R + i) * K1 + j0;
        for (int64_t j = 0; j < width; ++j) acc[static_cast<size_t>(j)] = r.step(acc[static_cast<size_t>(j)], row[j]);
      }
      for (int64_t j = 0; j < width; ++j) out[o * K1 + j0 + j] = r.finish(acc[static_cast<size_t>(j)]);
    }
  });
}

// Sums accumulate in double (floats, bfloat16) or int64 (integers) to limit rounding and overflow.
template <class T>
using Wide = std::conditional_t<std::is_floating_point_v<T> || std::is_same_v<T, BFloat16>, double, int64_t>;

// Rows [g0, g1) of `wide` float32 values added to acc in double: the hot loop of float32 bias
// gradients, compiled per instruction set. Each accumulator adds its column in row order
// whatever the vector width, so every clone gives the same sums.
LOOM_CPU_CLONES void sum_rows_f32(const float* block, int64_t g0, int64_t g1, int64_t wide, double* acc) {
  for (int64_t g = g0; g < g1; ++g) {
    const float* row = block + g * wide;
    for (int64_t t = 0; t < wide; ++t) acc[t] += static_cast<double>(row[t]);
  }
}

template <class T>
struct SumReducer {
  using Acc = Wide<T>;
  Acc init() const { return 0; }
  Acc step(Acc a, T v) const { return wrap_add(a, static_cast<Acc>(static_cast<compute_t<T>>(v))); }
  Acc combine(Acc a, Acc b) const { return wrap_add(a, b); }
  T finish(Acc a) const { return static_cast<T>(a); }
  void add_rows(const T* block, int64_t g0, int64_t g1, int64_t wide, Acc* acc) const
    requires std::is_same_v<T, float>
  {
    sum_rows_f32(block, g0, g1, wide, acc);
  }
};
template <class T>
struct ProdReducer {
  using Acc = Wide<T>;
  Acc init() const { return 1; }
  Acc step(Acc a, T v) const { return wrap_mul(a, static_cast<Acc>(v)); }
  Acc combine(Acc a, Acc b) const { return wrap_mul(a, b); }
  T finish(Acc a) const { return static_cast<T>(a); }
};
// Max/min of an empty set is -inf/+inf (lowest/highest for integers), as TF; NaN propagates.
template <class T, bool IsMax>
struct ExtremumReducer {
  using Acc = T;
  Acc init() const {
    if constexpr (std::is_floating_point_v<T>) {
      return IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    } else {
      return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
  }
  Acc step(Acc a, T v) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(v) || std::isnan(a)) return std::isnan(a) ? a : v;
    }
    return IsMax ? (v > a ? v : a) : (v < a ? v : a);
  }
  Acc combine(Acc a, Acc b) const { return step(a, b); }
  T finish(Acc a) const { return a; }
};
template <bool IsAll>
struct LogicReducer {
  using Acc = bool;
  Acc init() const { return IsAll; }
  Acc step(Acc a, bool v) const { return IsAll ? (a && v) : (a || v); }
  Acc combine(Acc a, Acc b) const { return step(a, b); }
  bool finish(Acc a) const { return a; }
};

template <template <class> class Reducer>
void numeric_reduce_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const auto axes = ops::reduction_axes(call.attrs, call.inputs[0].rank(), call.name());
  const Plan p = plan_reduction(call.inputs[0], axes);
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    using R = Reducer<T>;
    run_reduction<T, typename R::Acc>(p, static_cast<T*>(out[0].data_ptr()), R{});
  });
}

// reduce_sum also reads bfloat16 (bias gradients under mixed precision) without a widened copy:
// the sum accumulates in double and rounds once.
void sum_kernel(const OpCall& call, std::vector<Tensor>& out) {
  if (call.inputs[0].dtype() != DType::BFloat16) return numeric_reduce_kernel<SumReducer>(call, out);
  const auto axes = ops::reduction_axes(call.attrs, call.inputs[0].rank(), call.name());
  run_reduction<BFloat16, double>(plan_reduction(call.inputs[0], axes), static_cast<BFloat16*>(out[0].data_ptr()),
                                  SumReducer<BFloat16>{});
}

template <class T>
using MaxReducer = ExtremumReducer<T, true>;
template <class T>
using MinReducer = ExtremumReducer<T, false>;

template <bool IsAll>
void logic_reduce_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const auto axes = ops::reduction_axes(call.attrs, call.inputs[0].rank(), call.name());
  const Plan p = plan_reduction(call.inputs[0], axes);
  run_reduction<bool, bool>(p, static_cast<bool*>(out[0].data_ptr()), LogicReducer<IsAll>{});
}

// Index of the first extreme value along one axis; NaN counts as the extreme (as NumPy).
template <bool IsMax>
void arg_reduce_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), x.rank(), call.name());
  int64_t K0 = 1, K1 = 1;
  for (int i = 0; i < axis; ++i) K0 *= x.shape()[i];
  for (int i = axis + 1; i < x.rank(); ++i) K1 *= x.shape()[i];
  const int64_t R = x.shape()[static_cast<size_t>(axis)];
  auto* result = static_cast<int64_t*>(out[0].data_ptr());
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* data = static_cast<const T*>(x.data_ptr());
    parallel_chunks(K0 * K1, detail::threads_for(K0 * K1 * R, kCheapGrain), [&](int64_t b, int64_t e) {
    for (int64_t ok = b; ok < e; ++ok) {
      const int64_t o = ok / K1, k = ok % K1;
      const T* base = data + o * R * K1 + k;
      int64_t best = 0;
      T best_value = base[0];
      for (int64_t i = 1; i < R; ++i) {
        const T v = base[i * K1];
        bool better = IsMax ? v > best_value : v < best_value;
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(best_value)) better = false;
          else if (std::isnan(v)) better = true;
        }
        if (better) {
          best = i;
          best_value = v;
        }
      }
      result[ok] = best;
    }
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_reduce) {
  const DeviceType cpu = DeviceType::CPU;
  register_kernel("reduce_sum", cpu, sum_kernel, kNumeric | mask_of({DType::BFloat16}));
  register_kernel("reduce_prod", cpu, numeric_reduce_kernel<ProdReducer>, kNumeric);
  register_kernel("reduce_max", cpu, numeric_reduce_kernel<MaxReducer>, kNumeric);
  register_kernel("reduce_min", cpu, numeric_reduce_kernel<MinReducer>, kNumeric);
  register_kernel("reduce_all", cpu, logic_reduce_kernel<true>, mask_of({DType::Bool}));
  register_kernel("reduce_any", cpu, logic_reduce_kernel<false>, mask_of({DType::Bool}));
  register_kernel("argmax", cpu, arg_reduce_kernel<true>, kNumeric);
  register_kernel("argmin", cpu, arg_reduce_kernel<false>, kNumeric);
}

}  // namespace loom::cpu
