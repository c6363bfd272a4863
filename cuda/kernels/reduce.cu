// Reductions on the GPU: the input is permuted so that reduced axes are last and made
// contiguous ([outer, R]); one block reduces each row in shared memory.
#include <cfloat>
#include <climits>

#include "cuda/common.hpp"
#include "cuda/registration.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

struct Rows {
  Tensor x;  // contiguous [outer, reduced]
  int64_t outer, reduced;
};

Rows as_rows(const Tensor& input, const std::vector<int>& axes) {
  std::vector<bool> is_reduced(static_cast<size_t>(input.rank()), false);
  for (int a : axes) is_reduced[static_cast<size_t>(a)] = true;
  std::vector<int64_t> perm;
  int64_t outer = 1, reduced = 1;
  for (int i = 0; i < input.rank(); ++i) {
    if (!is_reduced[static_cast<size_t>(i)]) {
      perm.push_back(i);
      outer *= input.shape()[i];
    }
  }
  for (int a : axes) {
    perm.push_back(a);
    reduced *= input.shape()[static_cast<size_t>(a)];
  }
  return {transpose(input, perm).contiguous(), outer, reduced};
}

// Accumulation types: float for float/half types, double for double, int64 for integers.
template <class T> struct AccOf { using type = int64_t; };
template <> struct AccOf<float> { using type = float; };
template <> struct AccOf<__half> { using type = float; };
template <> struct AccOf<__nv_bfloat16> { using type = float; };
template <> struct AccOf<double> { using type = double; };
template <> struct AccOf<bool> { using type = bool; };

template <class A> struct SumOp {
  __device__ static A init() { return A(0); }
  __device__ static A combine(A a, A b) { return a + b; }
};
template <class A> struct ProdOp {
  __device__ static A init() { return A(1); }
  __device__ static A combine(A a, A b) {
    if constexpr (std::is_integral_v<A>) return static_cast<A>(static_cast<unsigned long long>(a) * static_cast<unsigned long long>(b));
    else return a * b;
  }
};
template <class A> struct MaxOp {
  __device__ static A init() {
    if constexpr (std::is_floating_point_v<A>) return -INFINITY;
    else return std::numeric_limits<A>::lowest();
  }
  __device__ static A combine(A a, A b) {
    if constexpr (std::is_floating_point_v<A>) {
      if (a != a || b != b) return a != a ? a : b;  // NaN propagates
    }
    return a > b ? a : b;
  }
};
template <class A> struct MinOp {
  __device__ static A init() {
    if constexpr (std::is_floating_point_v<A>) return INFINITY;
    else return std::numeric_limits<A>::max();
  }
  __device__ static A combine(A a, A b) {
    if constexpr (std::is_floating_point_v<A>) {
      if (a != a || b != b) return a != a ? a : b;
    }
    return a < b ? a : b;
  }
};
struct AllOp {
  __device__ static bool init() { return true; }
  __device__ static bool combine(bool a, bool b) { return a && b; }
};
struct AnyOp {
  __device__ static bool init() { return false; }
  __device__ static bool combine(bool a, bool b) { return a || b; }
};

template <class T, class A, class Op>
__global__ void reduce_rows(const T* x, T* out, int64_t outer, int64_t reduced) {
  __shared__ A partial[kThreads];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    A acc = Op::init();
    const T* r = x + row * reduced;
    for (int64_t i = threadIdx.x; i < reduced; i += blockDim.x) acc = Op::combine(acc, convert<A>(r[i]));
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) partial[threadIdx.x] = Op::combine(partial[threadIdx.x], partial[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) out[row] = convert<T>(partial[0]);
    __syncthreads();
  }
}

unsigned row_blocks(int64_t outer) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(outer, 1), 65535)); }

template <template <class> class Op>
void numeric_reduce(const OpCall& call, std::vector<Tensor>& out) {
  const auto axes = ops::reduction_axes(call.attrs, call.inputs[0].rank(), call.name());
  const Rows rows = as_rows(call.inputs[0], axes);
  if (rows.outer == 0) return;
  visit_device(rows.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw InternalError(std::string("[") + call.name() + "] dtype not registered");
    } else {
      using A = typename AccOf<T>::type;
      reduce_rows<T, A, Op<A>><<<row_blocks(rows.outer), kThreads, 0, stream(out[0].device().index)>>>(
          static_cast<const T*>(rows.x.data_ptr()), static_cast<T*>(out[0].data_ptr()), rows.outer, rows.reduced);
    }
  });
  check_launch(call.name());
}

template <class Op>
void logic_reduce(const OpCall& call, std::vector<Tensor>& out) {
  const auto axes = ops::reduction_axes(call.attrs, call.inputs[0].rank(), call.name());
  const Rows rows = as_rows(call.inputs[0], axes);
  if (rows.outer == 0) return;
  reduce_rows<bool, bool, Op><<<row_blocks(rows.outer), kThreads, 0, stream(out[0].device().index)>>>(
      static_cast<const bool*>(rows.x.data_ptr()), static_cast<bool*>(out[0].data_ptr()), rows.outer, rows.reduced);
  check_launch(call.name());
}

// First index of the extreme value of each row; NaN counts as the extreme (as the CPU).
template <class T, bool IsMax>
__global__ void arg_rows(const T* x, int64_t* out, int64_t outer, int64_t reduced) {
  using C = compute_t<T>;
  __shared__ C best_value[kThreads];
  __shared__ int64_t best_index[kThreads];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const T* r = x + row * reduced;
    C bv = convert<C>(r[0]);
    int64_t bi = 0;
    for (int64_t i = threadIdx.x; i < reduced; i += blockDim.x) {
      const C v = convert<C>(r[i]);
      bool better = IsMax ? v > bv : v < bv;
      if constexpr (std::is_floating_point_v<C>) {
        if (bv != bv) better = false;
        else if (v != v) better = true;
      }
      if (better) {  // indices grow within a thread: ties keep the first
        bv = v;
        bi = i;
      }
    }
    best_value[threadIdx.x] = bv;
    best_index[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        const C a = best_value[threadIdx.x], b = best_value[threadIdx.x + s];
        const int64_t ia = best_index[threadIdx.x], ib = best_index[threadIdx.x + s];
        bool take_b;
        if constexpr (std::is_floating_point_v<C>) {
          if (a != a || b != b) take_b = (b != b) && (!(a != a) || ib < ia);
          else take_b = IsMax ? (b > a || (b == a && ib < ia)) : (b < a || (b == a && ib < ia));
        } else {
          take_b = IsMax ? (b > a || (b == a && ib < ia)) : (b < a || (b == a && ib < ia));
        }
        if (take_b) {
          best_value[threadIdx.x] = b;
          best_index[threadIdx.x] = ib;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[row] = best_index[0];
    __syncthreads();
  }
}

template <bool IsMax>
void arg_reduce(const OpCall& call, std::vector<Tensor>& out) {
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), call.inputs[0].rank(), call.name());
  const Rows rows = as_rows(call.inputs[0], {axis});
  if (rows.outer == 0) return;
  visit_device(rows.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw InternalError(std::string("[") + call.name() + "] dtype not registered");
    } else {
      arg_rows<T, IsMax><<<row_blocks(rows.outer), kThreads, 0, stream(out[0].device().index)>>>(
          static_cast<const T*>(rows.x.data_ptr()), static_cast<int64_t*>(out[0].data_ptr()), rows.outer, rows.reduced);
    }
  });
  check_launch(call.name());
}

}  // namespace

void register_reduce_kernels() {
  const DeviceType gpu = DeviceType::GPU;
  const DTypeMask numeric = kNumeric | mask_of({DType::Float16, DType::BFloat16});
  register_kernel("reduce_sum", gpu, numeric_reduce<SumOp>, numeric);
  register_kernel("reduce_prod", gpu, numeric_reduce<ProdOp>, numeric);
  register_kernel("reduce_max", gpu, numeric_reduce<MaxOp>, numeric);
  register_kernel("reduce_min", gpu, numeric_reduce<MinOp>, numeric);
  register_kernel("reduce_all", gpu, logic_reduce<AllOp>, mask_of({DType::Bool}));
  register_kernel("reduce_any", gpu, logic_reduce<AnyOp>, mask_of({DType::Bool}));
  register_kernel("argmax", gpu, arg_reduce<true>, numeric);
  register_kernel("argmin", gpu, arg_reduce<false>, numeric);
}

}  // namespace loom::cuda
