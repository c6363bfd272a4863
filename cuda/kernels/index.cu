// gather / scatter_add, and the creation kernels (fill, range, Philox random numbers: the same
// generator as the CPU's, so a seed gives the same values on both).
#include "loom/backend/philox.hpp"
#include "cuda/common.hpp"
#include "cuda/registration.hpp"
#include "loom/creation.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

// Indices as a device int64 tensor, checked against [0, dim) on the host (as the CPU: an
// out-of-range index is an error, not garbage).
Tensor checked_indices(const OpCall& call, const Tensor& indices, int64_t dim) {
  const std::vector<int64_t> idx = indices.to_vector<int64_t>();
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= dim) {
      throw InvalidArgument(std::string("[") + call.name() + "] index " + std::to_string(idx[i]) + " at position " +
                            std::to_string(i) + " is out of range [0, " + std::to_string(dim) + ")");
    }
  }
  return cast(indices, DType::Int64).contiguous();
}

template <class T>
__global__ void gather_rows(const T* params, const int64_t* idx, T* out, int64_t outer, int64_t n, int64_t dim, int64_t inner) {
  const int64_t total = outer * n * inner;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = t % inner, i = (t / inner) % n, o = t / (inner * n);
    out[t] = params[(o * dim + idx[i]) * inner + j];
  }
}

template <class T>
__device__ void atomic_add(T* address, T value) {
  if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    // Byte atomics through the aligned 32-bit word that holds the byte.
    auto* word = reinterpret_cast<unsigned int*>(reinterpret_cast<uintptr_t>(address) & ~uintptr_t{3});
    const unsigned shift = (reinterpret_cast<uintptr_t>(address) & 3) * 8;
    unsigned old = *word, assumed;
    do {
      assumed = old;
      const unsigned byte = ((assumed >> shift) + value) & 0xffu;
      old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (byte << shift));
    } while (assumed != old);
  } else {
    atomicAdd(address, value);
  }
}

template <class T>
__global__ void scatter_rows(const T* updates, const int64_t* idx, T* out, int64_t outer, int64_t n, int64_t dim, int64_t inner) {
  const int64_t total = outer * n * inner;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = t % inner, i = (t / inner) % n, o = t / (inner * n);
    atomic_add(out + (o * dim + idx[i]) * inner + j, updates[t]);
  }
}

void gather_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor params = call.inputs[0].contiguous();
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), params.rank(), call.name());
  const int64_t dim = params.shape()[static_cast<size_t>(axis)];
  const Tensor idx = checked_indices(call, call.inputs[1], dim);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= params.shape()[i];
  for (int i = axis + 1; i < params.rank(); ++i) inner *= params.shape()[i];
  const int64_t n = idx.numel(), total = outer * n * inner;
  if (total == 0) return;
  visit_device(params.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_rows<T><<<blocks_for(total), kThreads, 0, stream(out[0].device().index)>>>(
        static_cast<const T*>(params.data_ptr()), static_cast<const int64_t*>(idx.data_ptr()), static_cast<T*>(out[0].data_ptr()),
        outer, n, dim, inner);
  });
  check_launch(call.name());
}

void scatter_add_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor updates = call.inputs[0].contiguous();
  const int64_t axis = call.attrs.get_int("axis", call.name());
  const int64_t dim = call.attrs.get_int("dim_size", call.name());
  const Tensor idx = checked_indices(call, call.inputs[1], dim);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= updates.shape()[static_cast<size_t>(i)];
  for (int i = static_cast<int>(axis) + call.inputs[1].rank(); i < updates.rank(); ++i) inner *= updates.shape()[i];
  const int device = out[0].device().index;
  check(cudaMemsetAsync(out[0].data_ptr(), 0, out[0].nbytes(), stream(device)), call.name());
  const int64_t n = idx.numel(), total = outer * n * inner;
  if (total == 0) return;
  visit_device(updates.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int32_t> || std::is_same_v<T, __half> ||
                  std::is_same_v<T, __nv_bfloat16>) {
      if constexpr (std::is_same_v<T, int32_t>) {
        scatter_rows<int><<<blocks_for(total), kThreads, 0, stream(device)>>>(
            static_cast<const int*>(updates.data_ptr()), static_cast<const int64_t*>(idx.data_ptr()), static_cast<int*>(out[0].data_ptr()),
            outer, n, dim, inner);
      } else {
        throw InternalError(std::string("[") + call.name() + "] dtype not registered");
      }
    } else {
      scatter_rows<T><<<blocks_for(total), kThreads, 0, stream(device)>>>(
          static_cast<const T*>(updates.data_ptr()), static_cast<const int64_t*>(idx.data_ptr()), static_cast<T*>(out[0].data_ptr()),
          outer, n, dim, inner);
    }
  });
  check_launch(call.name());
}

template <class T, class F>
__global__ void generate(T* out, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) out[i] = f(i);
}

template <class T, class F>
void launch_generate(const char* op, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  generate<T><<<blocks_for(n), kThreads, 0, stream(out.device().index)>>>(static_cast<T*>(out.data_ptr()), n, f);
  check_launch(op);
}

template <class T>
struct Constant {
  T value;
  __device__ T operator()(int64_t) const { return value; }
};
template <class T>
struct Arange {
  double start, delta;
  __device__ T operator()(int64_t i) const { return convert<T>(start + static_cast<double>(i) * delta); }
};
template <class T>
struct Normal {
  uint64_t seed;
  double mean, stddev;
  __device__ T operator()(int64_t i) const {
    return convert<T>(mean + stddev * philox::normal(philox::draw(seed, static_cast<uint64_t>(i), 0)));
  }
};
template <class T>
struct TruncNormal {
  uint64_t seed;
  double mean, stddev;
  __device__ T operator()(int64_t i) const { return convert<T>(mean + stddev * philox::truncated_normal(seed, static_cast<uint64_t>(i))); }
};
template <class T>
struct Uniform {
  uint64_t seed;
  double lo, hi;
  __device__ T operator()(int64_t i) const {
    const philox::Block b = philox::draw(seed, static_cast<uint64_t>(i), 0);
    if constexpr (std::is_same_v<T, float>) {
      const float v = static_cast<float>(lo) + static_cast<float>(hi - lo) * philox::uniform_float(b.w[0]);
      return v < static_cast<float>(hi) ? v : static_cast<float>(lo);
    } else if constexpr (std::is_same_v<T, double>) {
      return lo + (hi - lo) * philox::uniform_double(b.w[0], b.w[1]);
    } else {
      const auto span = static_cast<uint64_t>(static_cast<int64_t>(hi) - static_cast<int64_t>(lo));
      const uint64_t bits = (static_cast<uint64_t>(b.w[0]) << 32) | b.w[1];
      return static_cast<T>(static_cast<int64_t>(lo) + static_cast<int64_t>(bits % span));
    }
  }
};

void fill_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double value = call.attrs.get_float("value", call.name());
  visit_device(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch_generate<T>(call.name(), out[0], Constant<T>{convert<T>(value)});
  });
}

void range_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double start = call.attrs.get_float("start", call.name()), delta = call.attrs.get_float("delta", call.name());
  visit_device(out[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch_generate<T>(call.name(), out[0], Arange<T>{start, delta});
  });
}

uint64_t seed_of(const OpCall& call) { return static_cast<uint64_t>(call.attrs.get_int("seed", call.name())); }

template <template <class> class Gen>
void normal_like_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double mean = call.attrs.get_float("mean", call.name()), stddev = call.attrs.get_float("stddev", call.name());
  if (out[0].dtype() == DType::Float64) launch_generate<double>(call.name(), out[0], Gen<double>{seed_of(call), mean, stddev});
  else launch_generate<float>(call.name(), out[0], Gen<float>{seed_of(call), mean, stddev});
}

void uniform_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const double lo = call.attrs.get_float("minval", call.name()), hi = call.attrs.get_float("maxval", call.name());
  const uint64_t seed = seed_of(call);
  switch (out[0].dtype()) {
    case DType::Float64: launch_generate<double>(call.name(), out[0], Uniform<double>{seed, lo, hi}); break;
    case DType::Int32: launch_generate<int32_t>(call.name(), out[0], Uniform<int32_t>{seed, lo, hi}); break;
    case DType::Int64: launch_generate<int64_t>(call.name(), out[0], Uniform<int64_t>{seed, lo, hi}); break;
    default: launch_generate<float>(call.name(), out[0], Uniform<float>{seed, lo, hi}); break;
  }
}

}  // namespace

void register_index_kernels() {
  const DeviceType gpu = DeviceType::GPU;
  register_kernel("gather", gpu, gather_kernel, kAllTypes);
  register_kernel("scatter_add", gpu, scatter_add_kernel, kFloatTypes | mask_of({DType::Int32, DType::Int64, DType::UInt8}));
  register_kernel("fill", gpu, fill_kernel, kAllTypes);
  register_kernel("range", gpu, range_kernel, kNumeric);
  register_kernel("random_normal", gpu, normal_like_kernel<Normal>, kFloatTypes);
  register_kernel("truncated_normal", gpu, normal_like_kernel<TruncNormal>, kFloatTypes);
  register_kernel("random_uniform", gpu, uniform_kernel, kFloatTypes | mask_of({DType::Int32, DType::Int64}));
}

}  // namespace loom::cuda
