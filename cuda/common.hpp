#pragma once
// Shared by the CUDA backend's files: error checks that name the op, the per-device stream,
// launch geometry, device-side dtype dispatch and strided indexing.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "loom/backend/strided_layout.hpp"
#include "loom/error.hpp"
#include "loom/tensor.hpp"

namespace loom::cuda {

// Throws DeviceError naming `what` (the op or call) if a CUDA call failed.
void check(cudaError_t status, const char* what);
// After a kernel launch: launch errors (bad configuration, no kernel image for this GPU).
void check_launch(const char* op);

cudaStream_t stream(int device);
// Makes `device` current for this thread (cheap when it already is).
void use_device(int device);

inline constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 * 32 ? (b > 0 ? b : 1) : 65535 * 32);
}

// Device-side element types for loom's dtypes.
template <class F>
void visit_device(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); break;
    case DType::Float64: f(double{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int64: f(int64_t{}); break;
    case DType::Bool: f(bool{}); break;
    case DType::UInt8: f(uint8_t{}); break;
    case DType::Float16: f(__half{}); break;
    case DType::BFloat16: f(__nv_bfloat16{}); break;
  }
}

// Arithmetic type of an element type (half types compute in float).
template <class T> struct Compute { using type = T; };
template <> struct Compute<__half> { using type = float; };
template <> struct Compute<__nv_bfloat16> { using type = float; };
template <class T> using compute_t = typename Compute<T>::type;

template <class To, class From>
__host__ __device__ inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, __half> || std::is_same_v<From, __nv_bfloat16>) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // Saturating, NaN -> 0, as the CPU kernels.
    if (v != v) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// A strided iteration space by value, for kernels.
inline constexpr int kMaxDims = 8;
struct Indexer {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t strides[backend::kMaxOperands][kMaxDims];  // bytes
  __device__ void offsets(int64_t linear, int64_t* out, int nops) const {
    for (int op = 0; op < nops; ++op) out[op] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % shape[d];
      linear /= shape[d];
      for (int op = 0; op < nops; ++op) out[op] += i * strides[op][d];
    }
  }
};

// The indexer of an elementwise call; inputs with more than kMaxDims coalesced axes are the
// caller's to make contiguous first (layout() returns false).
bool make_indexer(const backend::StridedLayout& layout, Indexer& ix);

}  // namespace loom::cuda
