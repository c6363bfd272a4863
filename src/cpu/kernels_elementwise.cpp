// Elementwise math, comparisons, logic and where on the CPU. bfloat16 math runs in float32 on
// each element and rounds once: the result equals the widened float32 op's, without the widened
// copies.
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

#include "cpu/loops.hpp"
#include "cpu/wrapping.hpp"
#include "loom/error.hpp"
#include "loom/backend/arithmetic.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

// ---- unary ----
struct Neg { template <class T> static T f(T x) { return wrap_neg(x); } };
template <class T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(x);
  else return false;
}
template <class T>
bool is_negative(T x) {
  if constexpr (std::is_unsigned_v<T>) return false;
  else return x < T(0);
}

struct Abs { template <class T> static T f(T x) { return is_negative(x) ? wrap_neg(x) : x; } };
struct Sign {  // keeps 0, -0 and NaN as they are
  template <class T> static T f(T x) { return x > 0 ? T(1) : (is_negative(x) ? T(-1) : x); }
};
struct Square { template <class T> static T f(T x) { return wrap_mul(x, x); } };
struct Relu { template <class T> static T f(T x) { return x > 0 ? x : T(0); } };
struct Exp { template <class T> static T f(T x) { return std::exp(x); } };
struct Log { template <class T> static T f(T x) { return std::log(x); } };
struct Log1p { template <class T> static T f(T x) { return std::log1p(x); } };
struct Sqrt { template <class T> static T f(T x) { return std::sqrt(x); } };
struct Rsqrt { template <class T> static T f(T x) { return T(1) / std::sqrt(x); } };
struct Sin { template <class T> static T f(T x) { return std::sin(x); } };
struct Cos { template <class T> static T f(T x) { return std::cos(x); } };
struct Tanh { template <class T> static T f(T x) { return std::tanh(x); } };
struct Erf { template <class T> static T f(T x) { return std::erf(x); } };
struct Sigmoid {  // never overflows: exp of a non-positive number only
  template <class T> static T f(T x) {
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
};

// `f` on floats as a function of bfloat16 values.
template <class F>
auto through_float(F f) {
  return [f](auto... x) { return BFloat16(f(static_cast<float>(x)...)); };
}

// ---- float32 runs compiled per instruction set ----
// The cheap float32 ops carry most of a training step's elementwise traffic. Their runs are
// compiled for AVX-512, AVX2 and baseline x86-64 (LOOM_CPU_CLONES on plain wrappers around one
// template, as loops.hpp asks); strides count elements, and 1 (contiguous) or 0 (one value) are
// the fast cases.
using FloatRun1 = void (*)(float* o, int64_t so, const float* a, int64_t sa, int64_t n);
using FloatRun2 = void (*)(float* o, int64_t so, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n);

template <class Op>
inline void float_run1(float* o, int64_t so, const float* a, int64_t sa, int64_t n) {
  if (so == 1 && sa == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * so] = Op::f(a[i * sa]);
  }
}
template <class Op>
inline void float_run2(float* o, int64_t so, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n) {
  if (so == 1 && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], bv);
  } else if (so == 1 && sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * so] = Op::f(a[i * sa], b[i * sb]);
  }
}

// The compiled run of Op, or null where float32 takes the generic loop.
template <class Op>
FloatRun1 float_run1_of() { return nullptr; }
template <class Op>
FloatRun2 float_run2_of() { return nullptr; }

#define LOOM_FLOAT_RUN1(OP, NAME)                                                        \
  LOOM_CPU_CLONES void NAME(float* o, int64_t so, const float* a, int64_t sa, int64_t n) { \
    float_run1<OP>(o, so, a, sa, n);                                                     \
  }                                                                                      \
  template <>                                                                            \
  FloatRun1 float_run1_of<OP>() { return NAME; }
#define LOOM_FLOAT_RUN2(OP, NAME)                                                                        \
  LOOM_CPU_CLONES void NAME(float* o, int64_t so, const float* a, int64_t sa, const float* b, int64_t sb, \
                            int64_t n) {                                                                 \
    float_run2<OP>(o, so, a, sa, b, sb, n);                                                              \
  }                                                                                                      \
  template <>                                                                                            \
  FloatRun2 float_run2_of<OP>() { return NAME; }

// Byte strides of a run as float element strides.
inline int64_t floats(int64_t bytes) { return bytes / static_cast<int64_t>(sizeof(float)); }

// Runs a compiled float32 run over out and the inputs; false when Op has none.
bool run_float32(FloatRun1 run, const OpCall& call, Tensor& out, int64_t grain) {
  if (run == nullptr || call.inputs[0].dtype() != DType::Float32) return false;
  for_each_run(out, {&call.inputs[0]}, grain, [&](char** p, const int64_t* s, int64_t n) {
    run(reinterpret_cast<float*>(p[0]), floats(s[0]), reinterpret_cast<const float*>(p[1]), floats(s[1]), n);
  });
  return true;
}
bool run_float32(FloatRun2 run, const OpCall& call, Tensor& out, int64_t grain) {
  if (run == nullptr || call.inputs[0].dtype() != DType::Float32) return false;
  for_each_run(out, {&call.inputs[0], &call.inputs[1]}, grain, [&](char** p, const int64_t* s, int64_t n) {
    run(reinterpret_cast<float*>(p[0]), floats(s[0]), reinterpret_cast<const float*>(p[1]), floats(s[1]),
        reinterpret_cast<const float*>(p[2]), floats(s[2]), n);
  });
  return true;
}

LOOM_FLOAT_RUN1(Neg, neg_f32)
LOOM_FLOAT_RUN1(Abs, abs_f32)
LOOM_FLOAT_RUN1(Square, square_f32)
LOOM_FLOAT_RUN1(Relu, relu_f32)

template <class Op, bool Expensive>
void unary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const int64_t grain = Expensive ? kExpensiveGrain : kCheapGrain;
  if (run_float32(float_run1_of<Op>(), call, out[0], grain)) return;
  if (call.inputs[0].dtype() == DType::BFloat16) {
    map1<BFloat16, BFloat16>(out[0], call.inputs[0], grain, through_float([](float x) { return Op::f(x); }));
    return;
  }
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Expensive && !std::is_floating_point_v<T>) {
      return;  // registered for floating dtypes only
    } else {
      map1<T, T>(out[0], call.inputs[0], grain, [](T x) { return Op::f(x); });
    }
  });
}

void clip_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double lo = call.attrs.get_float("min", call.name());
  const double hi = call.attrs.get_float("max", call.name());
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Bounds outside the dtype's range saturate to it (a NaN bound on integers bounds nothing).
    const auto bound = [](double v, double fallback) {
      const double lowest = static_cast<double>(std::numeric_limits<T>::lowest());
      const double highest = static_cast<double>(std::numeric_limits<T>::max());
      if (std::isnan(v)) return std::is_floating_point_v<T> ? static_cast<T>(v) : static_cast<T>(fallback);
      return static_cast<T>(std::min(std::max(v, lowest), highest));
    };
    const T l = bound(lo, static_cast<double>(std::numeric_limits<T>::lowest()));
    const T h = bound(hi, static_cast<double>(std::numeric_limits<T>::max()));
    map1<T, T>(out[0], call.inputs[0], kCheapGrain, [l, h](T x) { return x < l ? l : (x > h ? h : x); });
  });
}

// ---- binary ----
struct Add { template <class T> static T f(T a, T b) { return wrap_add(a, b); } };
struct Sub { template <class T> static T f(T a, T b) { return wrap_sub(a, b); } };
struct Mul { template <class T> static T f(T a, T b) { return wrap_mul(a, b); } };
struct Div { template <class T> static T f(T a, T b) { return a / b; } };
struct Maximum {  // NaN propagates, as NumPy
  template <class T> static T f(T a, T b) { return (a > b || is_nan(a)) ? a : b; }
};
struct Minimum {
  template <class T> static T f(T a, T b) { return (a < b || is_nan(a)) ? a : b; }
};

struct ReluGrad {  // dy where y > 0, else 0 (relu's gradient in one pass)
  template <class T> static T f(T dy, T y) { return y > T(0) ? dy : T(0); }
};

LOOM_FLOAT_RUN2(Add, add_f32)
LOOM_FLOAT_RUN2(Sub, sub_f32)
LOOM_FLOAT_RUN2(Mul, mul_f32)
LOOM_FLOAT_RUN2(Div, div_f32)
LOOM_FLOAT_RUN2(Maximum, maximum_f32)
LOOM_FLOAT_RUN2(Minimum, minimum_f32)
LOOM_FLOAT_RUN2(ReluGrad, relu_grad_f32)

template <class Op, bool Expensive>
void binary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const int64_t grain = Expensive ? kExpensiveGrain : kCheapGrain;
  if (run_float32(float_run2_of<Op>(), call, out[0], grain)) return;
  if (call.inputs[0].dtype() == DType::BFloat16) {
    map2<BFloat16, BFloat16>(out[0], call.inputs[0], call.inputs[1], grain,
                             through_float([](float a, float b) { return Op::f(a, b); }));
    return;
  }
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<T, T>(out[0], call.inputs[0], call.inputs[1], grain, [](T a, T b) { return Op::f(a, b); });
  });
}

void relu_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  if (run_float32(float_run2_of<ReluGrad>(), call, out[0], kCheapGrain)) return;
  if (call.inputs[0].dtype() == DType::BFloat16) {
    map2<BFloat16, BFloat16>(out[0], call.inputs[0], call.inputs[1], kCheapGrain,
                             [](BFloat16 dy, BFloat16 y) { return static_cast<float>(y) > 0.0f ? dy : BFloat16(); });
    return;
  }
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<T, T>(out[0], call.inputs[0], call.inputs[1], kCheapGrain, ReluGrad::f<T>);
  });
}

void real_div_kernel(const OpCall& call, std::vector<Tensor>& out) {
  if (run_float32(float_run2_of<Div>(), call, out[0], kCheapGrain)) return;
  if (call.inputs[0].dtype() == DType::BFloat16) {
    map2<BFloat16, BFloat16>(out[0], call.inputs[0], call.inputs[1], kCheapGrain, through_float(Div::f<float>));
    return;
  }
  visit_float(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<T, T>(out[0], call.inputs[0], call.inputs[1], kCheapGrain, Div::f<T>);
  });
}

// Integer kernels that can fail on some values (division by zero, negative powers) raise a flag
// inside the loop and throw afterwards: exceptions never cross an OpenMP region.
[[noreturn]] void integer_error(const OpCall& call, const char* what) {
  throw InvalidArgument(std::string("[") + call.name() + "] " + what);
}

// floor_div, mod and pow: floating types with the C library, integers with the shared rules of
// loom/backend/arithmetic.hpp (which flag division by zero and negative powers in `bad`).
struct FloorDiv {
  static constexpr const char* kIntegerError = "integer division by zero";
  template <class T>
  static T apply(T a, T b, bool& bad) {
    if constexpr (std::is_floating_point_v<T>) return std::floor(a / b);
    else return arithmetic::floor_div(a, b, bad);
  }
};
struct Mod {
  static constexpr const char* kIntegerError = "integer division by zero";
  template <class T>
  static T apply(T a, T b, bool& bad) {
    if constexpr (std::is_floating_point_v<T>) return arithmetic::floor_mod_of_remainder(std::fmod(a, b), b);
    else return arithmetic::floor_mod(a, b, bad);
  }
};
struct Pow {
  static constexpr const char* kIntegerError = "integers cannot be raised to negative integer powers";
  template <class T>
  static T apply(T a, T b, bool& bad) {
    if constexpr (std::is_floating_point_v<T>) return std::pow(a, b);
    else return arithmetic::power(a, b, bad);
  }
};

template <class Op>
void checked_binary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  std::atomic<bool> bad{false};
  visit_numeric(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<T, T>(out[0], call.inputs[0], call.inputs[1], kExpensiveGrain, [&bad](T a, T b) {
      bool local = false;
      const T r = Op::apply(a, b, local);
      if (local) bad.store(true, std::memory_order_relaxed);
      return r;
    });
  });
  if (bad.load()) integer_error(call, Op::kIntegerError);
}

// ---- comparisons, logic, where ----
template <class Cmp>
void compare_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_all(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return;  // not registered for half types
    } else {
      map2<bool, T>(out[0], call.inputs[0], call.inputs[1], kCheapGrain,
                    [](T a, T b) { return Cmp{}(a, b); });
    }
  });
}

void logical_and_kernel(const OpCall& call, std::vector<Tensor>& out) {
  map2<bool, bool>(out[0], call.inputs[0], call.inputs[1], kCheapGrain, [](bool a, bool b) { return a && b; });
}
void logical_or_kernel(const OpCall& call, std::vector<Tensor>& out) {
  map2<bool, bool>(out[0], call.inputs[0], call.inputs[1], kCheapGrain, [](bool a, bool b) { return a || b; });
}
void logical_not_kernel(const OpCall& call, std::vector<Tensor>& out) {
  map1<bool, bool>(out[0], call.inputs[0], kCheapGrain, [](bool a) { return !a; });
}

void where_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_all(call.inputs[1].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map3<T, bool, T, T>(out[0], call.inputs[0], call.inputs[1], call.inputs[2], kCheapGrain,
                        [](bool c, T a, T b) { return c ? a : b; });
  });
}

constexpr DTypeMask kComparable = kNumeric | mask_of({DType::Bool});
constexpr DTypeMask kBf16 = mask_of({DType::BFloat16});

}  // namespace

LOOM_REGISTER_KERNELS(cpu_elementwise) {
  const DeviceType cpu = DeviceType::CPU;
  register_kernel("neg", cpu, unary_kernel<Neg, false>, kSignedNumeric | kBf16);
  register_kernel("relu_grad", cpu, relu_grad_kernel, kSignedNumeric | kBf16);
  register_kernel("abs", cpu, unary_kernel<Abs, false>, kSignedNumeric | kBf16);
  register_kernel("sign", cpu, unary_kernel<Sign, false>, kSignedNumeric | kBf16);
  register_kernel("square", cpu, unary_kernel<Square, false>, kNumeric | kBf16);
  register_kernel("relu", cpu, unary_kernel<Relu, false>, kSignedNumeric | kBf16);
  register_kernel("exp", cpu, unary_kernel<Exp, true>, kFloatTypes | kBf16);
  register_kernel("log", cpu, unary_kernel<Log, true>, kFloatTypes | kBf16);
  register_kernel("log1p", cpu, unary_kernel<Log1p, true>, kFloatTypes | kBf16);
  register_kernel("sqrt", cpu, unary_kernel<Sqrt, true>, kFloatTypes | kBf16);
  register_kernel("rsqrt", cpu, unary_kernel<Rsqrt, true>, kFloatTypes | kBf16);
  register_kernel("sin", cpu, unary_kernel<Sin, true>, kFloatTypes | kBf16);
  register_kernel("cos", cpu, unary_kernel<Cos, true>, kFloatTypes | kBf16);
  register_kernel("tanh", cpu, unary_kernel<Tanh, true>, kFloatTypes | kBf16);
  register_kernel("erf", cpu, unary_kernel<Erf, true>, kFloatTypes | kBf16);
  register_kernel("sigmoid", cpu, unary_kernel<Sigmoid, true>, kFloatTypes | kBf16);
  register_kernel("clip", cpu, clip_kernel, kNumeric);

  register_kernel("add", cpu, binary_kernel<Add, false>, kNumeric | kBf16);
  register_kernel("sub", cpu, binary_kernel<Sub, false>, kNumeric | kBf16);
  register_kernel("mul", cpu, binary_kernel<Mul, false>, kNumeric | kBf16);
  register_kernel("real_div", cpu, real_div_kernel, kFloatTypes | kBf16);
  register_kernel("maximum", cpu, binary_kernel<Maximum, false>, kNumeric | kBf16);
  register_kernel("minimum", cpu, binary_kernel<Minimum, false>, kNumeric | kBf16);
  register_kernel("floor_div", cpu, checked_binary_kernel<FloorDiv>, kNumeric);
  register_kernel("mod", cpu, checked_binary_kernel<Mod>, kNumeric);
  register_kernel("pow", cpu, checked_binary_kernel<Pow>, kNumeric);

  register_kernel("equal", cpu, compare_kernel<std::equal_to<>>, kComparable);
  register_kernel("not_equal", cpu, compare_kernel<std::not_equal_to<>>, kComparable);
  register_kernel("less", cpu, compare_kernel<std::less<>>, kComparable);
  register_kernel("less_equal", cpu, compare_kernel<std::less_equal<>>, kComparable);
  register_kernel("greater", cpu, compare_kernel<std::greater<>>, kComparable);
  register_kernel("greater_equal", cpu, compare_kernel<std::greater_equal<>>, kComparable);
  register_kernel("logical_and", cpu, logical_and_kernel, mask_of({DType::Bool}));
  register_kernel("logical_or", cpu, logical_or_kernel, mask_of({DType::Bool}));
  register_kernel("logical_not", cpu, logical_not_kernel, mask_of({DType::Bool}));
  register_kernel("where", cpu, where_kernel, mask_of({DType::Bool}));
}

}  // namespace loom::cpu
