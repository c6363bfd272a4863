#pragma once
// Strided, broadcasting loops for CPU kernels. Operand 0 is the output. Axes are coalesced
// (size-1 axes dropped, adjacent axes merged where every operand allows) so that contiguous
// and row-broadcast cases run as long, vectorisable inner loops.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "loom/backend/strided_layout.hpp"
#include "core/thread_budget.hpp"
#include "loom/tensor.hpp"

namespace loom::cpu {

using backend::kMaxOperands;
inline constexpr int64_t kCheapGrain = 1 << 16;      // elements per thread for add, mul, copy
inline constexpr int64_t kExpensiveGrain = 1 << 12;  // for exp, tanh, pow

// A hot loop marked with this is compiled for AVX-512, AVX2 and baseline x86-64; the loader picks
// the best one this CPU runs (GNU ifunc), so one binary runs anywhere and is fast on each; the
// loop's callees are inlined into each clone (flatten), else they stay baseline code. GCC
// contracts a * b + c into one FMA where the instruction set has it (its C++ default is
// -ffp-contract=fast), so the AVX-512 clone's results may differ from the baseline's in the
// last bit; one machine always runs the same clone, so its results repeat. GCC only: clang refuses target_clones with flatten (its builds, the
// sanitizer lane's, get the baseline code). Mark plain functions (wrappers that call templates,
// as max-pool does), not function templates: GCC 12's clones of batch norm's row templates gave
// about one run in a thousand a different result in the soak test (capi_soak).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(LOOM_NO_CPU_CLONES)
#define LOOM_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), flatten))
#else
#define LOOM_CPU_CLONES
#endif

// A strided layout plus the operands' first bytes.
struct Loop : backend::StridedLayout {
  char* base[kMaxOperands] = {};
};

inline Loop make_loop(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  Loop L;
  static_cast<backend::StridedLayout&>(L) = backend::strided_layout(out, inputs);
  L.base[0] = static_cast<char*>(out.data_ptr());
  int k = 1;
  for (const Tensor* t : inputs) L.base[k++] = static_cast<char*>(t->data_ptr());
  return L;
}

// Calls f(begin, end) on contiguous chunks of [0, n), one per thread. With one thread it runs
// inline: even an OpenMP region with if(false) costs futex calls on every op.
template <class F>
void parallel_chunks(int64_t n, int nt, F&& f) {
  if (nt <= 1 || n <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t count = omp_get_num_threads();
    const int64_t b = n * t / count, e = n * (t + 1) / count;
    if (b < e) f(b, e);
  }
}

// Calls f(ptrs, inner_strides, n) over runs of the innermost axis, splitting [0, numel) across
// the thread budget when the work is large enough.
template <class F>
void for_each_run(const Loop& L, int64_t grain, F&& f) {
  if (L.numel == 0) return;
  const int rank = L.shape.rank();
  auto run = [&](int64_t begin, int64_t end) {
    Shape idx = Shape::filled(static_cast<size_t>(rank), 0);
    char* ptr[kMaxOperands];
    int64_t rest = begin;
    for (int op = 0; op < L.nops; ++op) ptr[op] = L.base[op];
    for (int d = rank - 1; d >= 0; --d) {
      idx[d] = rest % L.shape[d];
      rest /= L.shape[d];
      for (int op = 0; op < L.nops; ++op) ptr[op] += idx[d] * L.strides[op][d];
    }
    int64_t inner[kMaxOperands];
    for (int op = 0; op < L.nops; ++op) inner[op] = L.strides[op][rank - 1];
    while (begin < end) {
      const int64_t n = std::min(L.shape[rank - 1] - idx[rank - 1], end - begin);
      f(ptr, inner, n);
      begin += n;
      // Advance the multi-index by n along the innermost axis, carrying outwards.
      for (int op = 0; op < L.nops; ++op) ptr[op] += n * inner[op];
      idx[rank - 1] += n;
      for (int d = rank - 1; d > 0 && idx[d] == L.shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (int op = 0; op < L.nops; ++op) {
          ptr[op] += L.strides[op][d - 1] - L.shape[d] * L.strides[op][d];
        }
      }
    }
  };
  parallel_chunks(L.numel, detail::threads_for(L.numel, grain), run);
}

// The byte stride of `t` in a flat run over `out`: its element size when it is contiguous with
// out's shape, 0 when it is one value (a scalar, or broadcast with all strides 0), else -1.
inline int64_t flat_stride(const Tensor& t, const Tensor& out) {
  if (t.shape() == out.shape() && t.is_contiguous()) return static_cast<int64_t>(dtype_size(t.dtype()));
  if (t.numel() == 1) return 0;
  for (int64_t s : t.strides()) {
    if (s != 0) return -1;
  }
  return 0;  // every element is the same memory
}

// The length of the row `t` repeats along out when it is contiguous and its shape, leading 1s
// aside, is out's trailing axes (a bias added to every row); else 0.
inline int64_t repeated_row(const Tensor& t, const Tensor& out) {
  const Shape& ts = t.shape();
  const Shape& os = out.shape();
  if (!t.is_contiguous() || ts.rank() > os.rank()) return 0;
  int lead = 0;
  while (lead < ts.rank() && ts[lead] == 1) ++lead;
  const int skip = os.rank() - ts.rank();
  for (int d = lead; d < ts.rank(); ++d) {
    if (ts[d] != os[skip + d]) return 0;
  }
  return t.numel();
}

// for_each_run over `out` and `inputs`; when every input is contiguous with the output's shape,
// a single value or one row repeated along it (most calls, the gradients of reductions, bias
// adds), plain runs per thread without building the general layout, which was most of the cost
// of a one-element op and a tenth of a row broadcast's.
template <class F>
void for_each_run(const Tensor& out, std::initializer_list<const Tensor*> inputs, int64_t grain, F&& f) {
  const int64_t n = out.numel();
  char* base[kMaxOperands] = {static_cast<char*>(out.data_ptr())};
  int64_t stride[kMaxOperands] = {static_cast<int64_t>(dtype_size(out.dtype()))};
  bool in_row[kMaxOperands] = {};
  int64_t row = n;  // the runs' length: out's numel, or the repeated row's
  bool flat = out.is_contiguous();
  int k = 1;
  for (const Tensor* t : inputs) {
    base[k] = static_cast<char*>(t->data_ptr());
    stride[k] = flat_stride(*t, out);
    if (stride[k] < 0 && flat) {
      const int64_t r = repeated_row(*t, out);
      flat = r > 0 && (row == n || row == r);
      row = r;
      in_row[k] = true;
      stride[k] = static_cast<int64_t>(dtype_size(t->dtype()));
    }
    flat = flat && stride[k++] >= 0;
  }
  if (!flat) return for_each_run(make_loop(out, inputs), grain, f);
  if (n == 0) return;
  parallel_chunks(n, detail::threads_for(n, grain), [&](int64_t b, int64_t e) {
    char* p[kMaxOperands];
    for (int64_t i = b; i < e;) {
      const int64_t r = i % row, len = std::min(row - r, e - i);
      for (int op = 0; op < k; ++op) p[op] = base[op] + (in_row[op] ? r : i) * stride[op];
      f(p, stride, len);
      i += len;
    }
  });
}

template <class T>
inline T& at(char* p, int64_t stride, int64_t i) {
  return *reinterpret_cast<T*>(p + i * stride);
}

// out = f(a), elementwise.
template <class Out, class In, class F>
void map1(const Tensor& out, const Tensor& a, int64_t grain, F f) {
  for_each_run(out, {&a}, grain, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
      Out* o = reinterpret_cast<Out*>(p[0]);
      const In* x = reinterpret_cast<const In*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) at<Out>(p[0], s[0], i) = f(at<In>(p[1], s[1], i));
    }
  });
}

// out = f(a, b), elementwise with broadcasting; fast paths for contiguous and scalar operands.
template <class Out, class In, class F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, int64_t grain, F f) {
  for_each_run(out, {&a, &b}, grain, [&](char** p, const int64_t* s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(p[0]);
    const In* x = reinterpret_cast<const In*>(p[1]);
    const In* y = reinterpret_cast<const In*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == sizeof(In)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == 0) {
      const In yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (s[0] == sizeof(Out) && s[1] == 0 && s[2] == sizeof(In)) {
      const In xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        at<Out>(p[0], s[0], i) = f(at<In>(p[1], s[1], i), at<In>(p[2], s[2], i));
      }
    }
  });
}

// out = f(a, b, c), elementwise with broadcasting.
template <class Out, class A, class B, class C, class F>
void map3(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, int64_t grain,
          F f) {
  for_each_run(out, {&a, &b, &c}, grain, [&](char** p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      at<Out>(p[0], s[0], i) = f(at<A>(p[1], s[1], i), at<B>(p[2], s[2], i), at<C>(p[3], s[3], i));
    }
  });
}

// Calls f(T{}) with T the C++ type of `dtype`, for the dtypes listed in the visitor's name.
template <class F>
void visit_float(DType dtype, F&& f) {
  if (dtype == DType::Float32) f(float{});
  else f(double{});
}
template <class F>
void visit_float_or_bf16(DType dtype, F&& f) {
  if (dtype == DType::BFloat16) f(BFloat16{});
  else visit_float(dtype, f);
}
// The type a kernel computes in for storage type S: float for bfloat16 (which only stores).
template <class S>
using compute_t = std::conditional_t<std::is_same_v<S, BFloat16>, float, S>;

template <class F>
void visit_numeric(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); break;
    case DType::Float64: f(double{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int64: f(int64_t{}); break;
    default: f(uint8_t{}); break;
  }
}
template <class F>
void visit_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Bool: f(bool{}); break;
    case DType::Float16: f(Half{}); break;
    case DType::BFloat16: f(BFloat16{}); break;
    default: visit_numeric(dtype, f); break;
  }
}

}  // namespace loom::cpu
