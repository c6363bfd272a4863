// Elementwise kernels on the GPU: unary math, binary arithmetic with broadcasting, comparisons,
// logic, where, clip, cast and copies. Half types compute in float.
#include <cmath>
#include <limits>

#include "cuda/common.hpp"
#include "cuda/registration.hpp"
#include "loom/backend/arithmetic.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

// ---------------------------------------------------------------- launch machinery
template <class Out, class A, class F>
__global__ void map1_flat(Out* out, const A* a, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) out[i] = f(a[i]);
}
template <class Out, class A, class F>
__global__ void map1_strided(char* out, const char* a, Indexer ix, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t o[2];
    ix.offsets(i, o, 2);
    *reinterpret_cast<Out*>(out + o[0]) = f(*reinterpret_cast<const A*>(a + o[1]));
  }
}
template <class Out, class A, class B, class F>
__global__ void map2_flat(Out* out, const A* a, const B* b, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) out[i] = f(a[i], b[i]);
}
template <class Out, class A, class B, class F>
__global__ void map2_strided(char* out, const char* a, const char* b, Indexer ix, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t o[3];
    ix.offsets(i, o, 3);
    *reinterpret_cast<Out*>(out + o[0]) = f(*reinterpret_cast<const A*>(a + o[1]), *reinterpret_cast<const B*>(b + o[2]));
  }
}
template <class Out, class C, class A, class F>
__global__ void map3_strided(char* out, const char* c, const char* a, const char* b, Indexer ix, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t o[4];
    ix.offsets(i, o, 4);
    *reinterpret_cast<Out*>(out + o[0]) = f(*reinterpret_cast<const C*>(c + o[1]), *reinterpret_cast<const A*>(a + o[2]),
                                            *reinterpret_cast<const A*>(b + o[3]));
  }
}

// Layout for out <- inputs; too many axes: the inputs are made contiguous first.
Indexer indexer_for(const Tensor& out, std::initializer_list<const Tensor*> inputs, std::vector<Tensor>& keep,
                    backend::StridedLayout& L) {
  L = backend::strided_layout(out, inputs);
  Indexer ix{};
  if (make_indexer(L, ix)) return ix;
  for (const Tensor* t : inputs) keep.push_back(t->contiguous());
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : keep) ptrs.push_back(&t);
  if (ptrs.size() == 1) L = backend::strided_layout(out, {ptrs[0]});
  else if (ptrs.size() == 2) L = backend::strided_layout(out, {ptrs[0], ptrs[1]});
  else L = backend::strided_layout(out, {ptrs[0], ptrs[1], ptrs[2]});
  if (!make_indexer(L, ix)) throw InternalError("[cuda] output layout has too many axes");
  return ix;
}

bool contiguous_run(const backend::StridedLayout& L, std::initializer_list<size_t> sizes) {
  if (L.shape.rank() != 1) return false;
  size_t k = 0;
  for (size_t s : sizes) {
    if (L.strides[k++][0] != static_cast<int64_t>(s)) return false;
  }
  return true;
}

template <class Out, class A, class F>
void map1(const char* op, const Tensor& out, const Tensor& a, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const cudaStream_t s = stream(out.device().index);
  std::vector<Tensor> keep;
  backend::StridedLayout L;
  const Indexer ix = indexer_for(out, {&a}, keep, L);
  const Tensor& in = keep.empty() ? a : keep[0];
  if (contiguous_run(L, {sizeof(Out), sizeof(A)})) {
    map1_flat<Out, A><<<blocks_for(n), kThreads, 0, s>>>(static_cast<Out*>(out.data_ptr()), static_cast<const A*>(in.data_ptr()), n, f);
  } else {
    map1_strided<Out, A><<<blocks_for(n), kThreads, 0, s>>>(static_cast<char*>(out.data_ptr()), static_cast<const char*>(in.data_ptr()), ix, n, f);
  }
  check_launch(op);
}

template <class Out, class A, class B, class F>
void map2(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const cudaStream_t s = stream(out.device().index);
  std::vector<Tensor> keep;
  backend::StridedLayout L;
  const Indexer ix = indexer_for(out, {&a, &b}, keep, L);
  const Tensor& x = keep.empty() ? a : keep[0];
  const Tensor& y = keep.empty() ? b : keep[1];
  if (contiguous_run(L, {sizeof(Out), sizeof(A), sizeof(B)})) {
    map2_flat<Out, A, B><<<blocks_for(n), kThreads, 0, s>>>(static_cast<Out*>(out.data_ptr()), static_cast<const A*>(x.data_ptr()),
                                                           static_cast<const B*>(y.data_ptr()), n, f);
  } else {
    map2_strided<Out, A, B><<<blocks_for(n), kThreads, 0, s>>>(static_cast<char*>(out.data_ptr()), static_cast<const char*>(x.data_ptr()),
                                                              static_cast<const char*>(y.data_ptr()), ix, n, f);
  }
  check_launch(op);
}

// ---------------------------------------------------------------- functors
template <class T>
__device__ T from_float(float v) { return convert<T>(v); }

template <class C>
__device__ bool negative(C x) {
  if constexpr (std::is_unsigned_v<C>) return false;
  else return x < C(0);
}

#define LOOM_UNARY_FUNCTOR(Name, expr)                                   \
  struct Name {                                                          \
    template <class T>                                                   \
    __device__ T operator()(T in) const {                                \
      using C = compute_t<T>;                                            \
      const C x = convert<C>(in);                                        \
      return convert<T>(static_cast<C>(expr));                           \
    }                                                                    \
  };
LOOM_UNARY_FUNCTOR(Neg, -x)
LOOM_UNARY_FUNCTOR(Abs, negative(x) ? -x : x)
LOOM_UNARY_FUNCTOR(Sign, x > C(0) ? C(1) : (negative(x) ? C(-1) : x))
LOOM_UNARY_FUNCTOR(Square, x * x)
LOOM_UNARY_FUNCTOR(Relu, x > C(0) ? x : C(0))
LOOM_UNARY_FUNCTOR(Exp, exp(x))
LOOM_UNARY_FUNCTOR(Log, log(x))
LOOM_UNARY_FUNCTOR(Log1p, log1p(x))
LOOM_UNARY_FUNCTOR(Sqrt, sqrt(x))
LOOM_UNARY_FUNCTOR(Rsqrt, C(1) / sqrt(x))
LOOM_UNARY_FUNCTOR(Sin, sin(x))
LOOM_UNARY_FUNCTOR(Cos, cos(x))
LOOM_UNARY_FUNCTOR(Tanh, tanh(x))
LOOM_UNARY_FUNCTOR(Erf, erf(x))
LOOM_UNARY_FUNCTOR(Sigmoid, x >= C(0) ? C(1) / (C(1) + exp(-x)) : exp(x) / (C(1) + exp(x)))
#undef LOOM_UNARY_FUNCTOR

template <class T>
__device__ bool nan_of(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  else return false;
}

#define LOOM_BINARY_FUNCTOR(Name, expr)                                        \
  struct Name {                                                                \
    template <class T>                                                         \
    __device__ T operator()(T ia, T ib) const {                                \
      using C = compute_t<T>;                                                  \
      const C a = convert<C>(ia), b = convert<C>(ib);                          \
      return convert<T>(static_cast<C>(expr));                                 \
    }                                                                          \
  };
LOOM_BINARY_FUNCTOR(Add, a + b)
LOOM_BINARY_FUNCTOR(Sub, a - b)
LOOM_BINARY_FUNCTOR(Mul, a * b)
LOOM_BINARY_FUNCTOR(Div, a / b)
LOOM_BINARY_FUNCTOR(Maximum, (a > b || nan_of(a)) ? a : b)
LOOM_BINARY_FUNCTOR(Minimum, (a < b || nan_of(a)) ? a : b)
#undef LOOM_BINARY_FUNCTOR

// Integer division by zero and negative integer powers set a flag that the host reads after
// the kernel and turns into an error (a GPU does not trap on them).
__device__ int bad_integer_flag;

// The integer rules are loom/backend/arithmetic.hpp's, shared with the CPU.
struct FloorDiv {
  template <class T>
  __device__ T operator()(T ia, T ib) const {
    using C = compute_t<T>;
    const C a = convert<C>(ia), b = convert<C>(ib);
    if constexpr (std::is_floating_point_v<C>) {
      return convert<T>(floor(a / b));
    } else {
      bool bad = false;
      const T q = static_cast<T>(arithmetic::floor_div(a, b, bad));
      if (bad) bad_integer_flag = 1;
      return q;
    }
  }
};
struct Mod {
  template <class T>
  __device__ T operator()(T ia, T ib) const {
    using C = compute_t<T>;
    const C a = convert<C>(ia), b = convert<C>(ib);
    if constexpr (std::is_floating_point_v<C>) {
      return convert<T>(arithmetic::floor_mod_of_remainder(fmod(a, b), b));
    } else {
      bool bad = false;
      const T r = static_cast<T>(arithmetic::floor_mod(a, b, bad));
      if (bad) bad_integer_flag = 1;
      return r;
    }
  }
};
struct Pow {
  template <class T>
  __device__ T operator()(T ia, T ib) const {
    using C = compute_t<T>;
    const C a = convert<C>(ia), b = convert<C>(ib);
    if constexpr (std::is_floating_point_v<C>) {
      return convert<T>(pow(a, b));
    } else {
      bool bad = false;
      const T p = static_cast<T>(arithmetic::power(a, b, bad));
      if (bad) bad_integer_flag = 1;
      return p;
    }
  }
};

// ---------------------------------------------------------------- kernels
inline constexpr DTypeMask kGpuFloat = mask_of({DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
inline constexpr DTypeMask kGpuNumeric = kGpuFloat | kIntTypes;
inline constexpr DTypeMask kGpuSigned = kGpuFloat | mask_of({DType::Int32, DType::Int64});

template <class T>
constexpr bool is_floating_device = std::is_floating_point_v<T> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

template <class F, DTypeMask Mask>
void unary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_device(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool> || (Mask == kGpuFloat && !is_floating_device<T>)) {
      throw InternalError(std::string("[") + call.name() + "] dtype not registered");
    } else {
      map1<T, T>(call.name(), out[0], call.inputs[0], F{});
    }
  });
}

template <class F>
void binary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_device(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw InternalError(std::string("[") + call.name() + "] dtype not registered");
    } else {
      map2<T, T, T>(call.name(), out[0], call.inputs[0], call.inputs[1], F{});
    }
  });
}

template <class F>
void checked_binary_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const int device = out[0].device().index;
  const int zero = 0;
  check(cudaMemcpyToSymbolAsync(bad_integer_flag, &zero, sizeof zero, 0, cudaMemcpyHostToDevice, stream(device)), call.name());
  binary_kernel<F>(call, out);
  if (is_integral(call.inputs[0].dtype())) {
    int flag = 0;
    check(cudaMemcpyFromSymbolAsync(&flag, bad_integer_flag, sizeof flag, 0, cudaMemcpyDeviceToHost, stream(device)), call.name());
    check(cudaStreamSynchronize(stream(device)), call.name());
    if (flag) {
      throw InvalidArgument(std::string("[") + call.name() + "] " +
                            (std::string(call.name()) == "pow" ? "integers cannot be raised to negative integer powers" : "integer division by zero"));
    }
  }
}

template <class Cmp>
struct Compare {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    using C = compute_t<T>;
    return Cmp{}(convert<C>(a), convert<C>(b));
  }
};
struct Eq { template <class C> __device__ bool operator()(C a, C b) const { return a == b; } };
struct Ne { template <class C> __device__ bool operator()(C a, C b) const { return a != b; } };
struct Lt { template <class C> __device__ bool operator()(C a, C b) const { return a < b; } };
struct Le { template <class C> __device__ bool operator()(C a, C b) const { return a <= b; } };
struct Gt { template <class C> __device__ bool operator()(C a, C b) const { return a > b; } };
struct Ge { template <class C> __device__ bool operator()(C a, C b) const { return a >= b; } };

template <class Cmp>
void compare_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_device(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<bool, T, T>(call.name(), out[0], call.inputs[0], call.inputs[1], Compare<Cmp>{});
  });
}

struct And { __device__ bool operator()(bool a, bool b) const { return a && b; } };
struct Or { __device__ bool operator()(bool a, bool b) const { return a || b; } };
struct Not { __device__ bool operator()(bool a) const { return !a; } };

void logical_and_kernel(const OpCall& call, std::vector<Tensor>& out) { map2<bool, bool, bool>(call.name(), out[0], call.inputs[0], call.inputs[1], And{}); }
void logical_or_kernel(const OpCall& call, std::vector<Tensor>& out) { map2<bool, bool, bool>(call.name(), out[0], call.inputs[0], call.inputs[1], Or{}); }
void logical_not_kernel(const OpCall& call, std::vector<Tensor>& out) { map1<bool, bool>(call.name(), out[0], call.inputs[0], Not{}); }

struct Select {
  template <class T>
  __device__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

void where_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& o = out[0];
  const int64_t n = o.numel();
  if (n == 0) return;
  std::vector<Tensor> keep;
  backend::StridedLayout L;
  const Indexer ix = indexer_for(o, {&call.inputs[0], &call.inputs[1], &call.inputs[2]}, keep, L);
  const Tensor& c = keep.empty() ? call.inputs[0] : keep[0];
  const Tensor& a = keep.empty() ? call.inputs[1] : keep[1];
  const Tensor& b = keep.empty() ? call.inputs[2] : keep[2];
  visit_device(o.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map3_strided<T, bool, T><<<blocks_for(n), kThreads, 0, stream(o.device().index)>>>(
        static_cast<char*>(o.data_ptr()), static_cast<const char*>(c.data_ptr()), static_cast<const char*>(a.data_ptr()),
        static_cast<const char*>(b.data_ptr()), ix, n, Select{});
  });
  check_launch(call.name());
}

template <class T>
struct Clip {
  compute_t<T> lo, hi;
  __device__ T operator()(T in) const {
    const compute_t<T> x = convert<compute_t<T>>(in);
    return convert<T>(x < lo ? lo : (x > hi ? hi : x));
  }
};

void clip_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double lo = call.attrs.get_float("min", call.name()), hi = call.attrs.get_float("max", call.name());
  visit_device(call.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw InternalError("[clip] dtype not registered");
    } else {
      using C = compute_t<T>;
      const double tlo = std::max(lo, static_cast<double>(std::numeric_limits<C>::lowest()));
      const double thi = std::min(hi, static_cast<double>(std::numeric_limits<C>::max()));
      map1<T, T>(call.name(), out[0], call.inputs[0], Clip<T>{static_cast<C>(tlo), static_cast<C>(thi)});
    }
  });
}

template <class To>
struct CastTo {
  template <class From>
  __device__ To operator()(From v) const { return convert<To>(v); }
};

void cast_kernel(const OpCall& call, std::vector<Tensor>& out) {
  visit_device(call.inputs[0].dtype(), [&](auto from) {
    using From = decltype(from);
    visit_device(out[0].dtype(), [&](auto to) {
      using To = decltype(to);
      map1<To, From>(call.name(), out[0], call.inputs[0], CastTo<To>{});
    });
  });
}

struct Same {
  template <class T>
  __device__ T operator()(T v) const { return v; }
};

// Copies by element size: bytes move, values are not interpreted.
void copy_bytes(const char* op, const Tensor& dst, const Tensor& src) {
  switch (dtype_size(src.dtype())) {
    case 1: map1<uint8_t, uint8_t>(op, dst, src, Same{}); break;
    case 2: map1<uint16_t, uint16_t>(op, dst, src, Same{}); break;
    case 4: map1<uint32_t, uint32_t>(op, dst, src, Same{}); break;
    default: map1<uint64_t, uint64_t>(op, dst, src, Same{}); break;
  }
}
void identity_kernel(const OpCall& call, std::vector<Tensor>& out) { copy_bytes(call.name(), out[0], call.inputs[0]); }
void copy_into_kernel(const OpCall& call, std::vector<Tensor>&) { copy_bytes(call.name(), call.inputs[0], call.inputs[1]); }

}  // namespace

void register_elementwise_kernels() {
  const DeviceType gpu = DeviceType::GPU;
  register_kernel("neg", gpu, unary_kernel<Neg, kGpuSigned>, kGpuSigned);
  register_kernel("abs", gpu, unary_kernel<Abs, kGpuSigned>, kGpuSigned);
  register_kernel("sign", gpu, unary_kernel<Sign, kGpuSigned>, kGpuSigned);
  register_kernel("square", gpu, unary_kernel<Square, kGpuNumeric>, kGpuNumeric);
  register_kernel("relu", gpu, unary_kernel<Relu, kGpuSigned>, kGpuSigned);
  register_kernel("exp", gpu, unary_kernel<Exp, kGpuFloat>, kGpuFloat);
  register_kernel("log", gpu, unary_kernel<Log, kGpuFloat>, kGpuFloat);
  register_kernel("log1p", gpu, unary_kernel<Log1p, kGpuFloat>, kGpuFloat);
  register_kernel("sqrt", gpu, unary_kernel<Sqrt, kGpuFloat>, kGpuFloat);
  register_kernel("rsqrt", gpu, unary_kernel<Rsqrt, kGpuFloat>, kGpuFloat);
  register_kernel("sin", gpu, unary_kernel<Sin, kGpuFloat>, kGpuFloat);
  register_kernel("cos", gpu, unary_kernel<Cos, kGpuFloat>, kGpuFloat);
  register_kernel("tanh", gpu, unary_kernel<Tanh, kGpuFloat>, kGpuFloat);
  register_kernel("erf", gpu, unary_kernel<Erf, kGpuFloat>, kGpuFloat);
  register_kernel("sigmoid", gpu, unary_kernel<Sigmoid, kGpuFloat>, kGpuFloat);
  register_kernel("clip", gpu, clip_kernel, kGpuNumeric);
  register_kernel("add", gpu, binary_kernel<Add>, kGpuNumeric);
  register_kernel("sub", gpu, binary_kernel<Sub>, kGpuNumeric);
  register_kernel("mul", gpu, binary_kernel<Mul>, kGpuNumeric);
  register_kernel("real_div", gpu, binary_kernel<Div>, kGpuFloat);
  register_kernel("maximum", gpu, binary_kernel<Maximum>, kGpuNumeric);
  register_kernel("minimum", gpu, binary_kernel<Minimum>, kGpuNumeric);
  register_kernel("floor_div", gpu, checked_binary_kernel<FloorDiv>, kGpuNumeric);
  register_kernel("mod", gpu, checked_binary_kernel<Mod>, kGpuNumeric);
  register_kernel("pow", gpu, checked_binary_kernel<Pow>, kGpuNumeric);
  const DTypeMask comparable = kGpuNumeric | mask_of({DType::Bool});
  register_kernel("equal", gpu, compare_kernel<Eq>, comparable);
  register_kernel("not_equal", gpu, compare_kernel<Ne>, comparable);
  register_kernel("less", gpu, compare_kernel<Lt>, comparable);
  register_kernel("less_equal", gpu, compare_kernel<Le>, comparable);
  register_kernel("greater", gpu, compare_kernel<Gt>, comparable);
  register_kernel("greater_equal", gpu, compare_kernel<Ge>, comparable);
  register_kernel("logical_and", gpu, logical_and_kernel, mask_of({DType::Bool}));
  register_kernel("logical_or", gpu, logical_or_kernel, mask_of({DType::Bool}));
  register_kernel("logical_not", gpu, logical_not_kernel, mask_of({DType::Bool}));
  register_kernel("where", gpu, where_kernel, mask_of({DType::Bool}));
  register_kernel("cast", gpu, cast_kernel, kAllTypes);
  register_kernel("identity", gpu, identity_kernel, kAllTypes);
  register_kernel("copy_into", gpu, copy_into_kernel, kAllTypes);
}

}  // namespace loom::cuda
