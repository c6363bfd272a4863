// matmul on cuBLAS: strided-batched GEMM (row-major through the transposed column-major call),
// float32 (TF32 when float32_matmul_precision is "high"), float64, and float16/bfloat16 with
// float32 accumulation. Integer products (no cuBLAS routine) use a plain kernel.
#include <cublas_v2.h>

#include <mutex>
#include <vector>

#include "cuda/common.hpp"
#include "cuda/registration.hpp"
#include "loom/creation.hpp"
#include "loom/device.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* op) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw DeviceError(std::string("[") + op + "] cuBLAS error " + std::to_string(static_cast<int>(status)));
  }
}

cublasHandle_t handle(int device) {
  static std::mutex mutex;
  static std::vector<cublasHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  if (handles.size() <= static_cast<size_t>(device)) handles.resize(static_cast<size_t>(device) + 1, nullptr);
  cublasHandle_t& h = handles[static_cast<size_t>(device)];
  if (!h) {
    use_device(device);
    check_cublas(cublasCreate(&h), "cublasCreate");
    check_cublas(cublasSetStream(h, stream(device)), "cublasSetStream");
  }
  return h;
}

// An operand broadcast to the batch: contiguous matrices with a uniform batch stride (0 when
// one matrix serves every batch), materialised otherwise.
struct Operand {
  Tensor t;
  long long batch_stride;
};

Operand operand(const Tensor& x, const Shape& batch) {
  const int64_t rows = x.shape()[static_cast<size_t>(x.rank() - 2)], cols = x.shape().back();
  int64_t own_batches = 1;
  for (int i = 0; i < x.rank() - 2; ++i) own_batches *= x.shape()[i];
  if (own_batches == 1) return {x.contiguous(), 0};
  if (own_batches == batch.numel()) return {x.contiguous(), static_cast<long long>(rows * cols)};
  Shape full = batch;
  full.push_back(rows);
  full.push_back(cols);
  return {broadcast_to(x, full).contiguous(), static_cast<long long>(rows * cols)};
}

cudaDataType_t cuda_type(DType d) {
  switch (d) {
    case DType::Float64: return CUDA_R_64F;
    case DType::Float16: return CUDA_R_16F;
    case DType::BFloat16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

// One thread per output element of each batch; integers wrap like the CPU's.
template <class T>
__global__ void integer_matmul(const T* a, const T* b, T* c, int64_t batches, int64_t m, int64_t n, int64_t k, long long stride_a,
                               long long stride_b, bool ta, bool tb) {
  const int64_t total = batches * m * n;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = t % n, i = t / n % m, batch = t / (m * n);
    const T* A = a + batch * stride_a;
    const T* B = b + batch * stride_b;
    using U = std::make_unsigned_t<T>;
    U acc = 0;
    for (int64_t p = 0; p < k; ++p) {
      const T av = ta ? A[p * m + i] : A[i * k + p];
      const T bv = tb ? B[j * k + p] : B[p * n + j];
      acc = static_cast<U>(acc + static_cast<U>(av) * static_cast<U>(bv));
    }
    c[t] = static_cast<T>(acc);
  }
}

void matmul_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const bool ta = call.attrs.get_bool("transpose_a", call.name());
  const bool tb = call.attrs.get_bool("transpose_b", call.name());
  Tensor& c = out[0];
  const int64_t m = c.shape()[static_cast<size_t>(c.rank() - 2)], n = c.shape().back();
  const Shape batch(c.shape().data(), c.shape().size() - 2);
  const int64_t batches = batch.numel();
  const Tensor& a_in = call.inputs[0];
  const int64_t k = ta ? a_in.shape()[static_cast<size_t>(a_in.rank() - 2)] : a_in.shape().back();
  if (c.numel() == 0) return;
  if (k == 0) {
    ops::copy_into(c, zeros_like(c));
    return;
  }
  const Operand a = operand(call.inputs[0], batch), b = operand(call.inputs[1], batch);
  const int device = c.device().index;
  const DType dtype = c.dtype();
  if (is_integral(dtype)) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      integer_matmul<T><<<blocks_for(c.numel()), kThreads, 0, stream(device)>>>(
          static_cast<const T*>(a.t.data_ptr()), static_cast<const T*>(b.t.data_ptr()), static_cast<T*>(c.data_ptr()), batches, m, n, k,
          a.batch_stride, b.batch_stride, ta, tb);
    };
    if (dtype == DType::Int32) run(int32_t{});
    else run(int64_t{});
    check_launch(call.name());
    return;
  }
  const cudaDataType_t type = cuda_type(dtype);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  if (dtype == DType::Float64) compute = CUBLAS_COMPUTE_64F;
  else if (dtype == DType::Float32 && float32_matmul_precision() == "high") compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  const float alpha32 = 1.0f, beta32 = 0.0f;
  const double alpha64 = 1.0, beta64 = 0.0;
  const void* alpha = dtype == DType::Float64 ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* beta = dtype == DType::Float64 ? static_cast<const void*>(&beta64) : &beta32;
  // Row-major C (m x n) = A B is column-major C^T (n x m) = B^T A^T.
  const int lda = static_cast<int>(a.t.shape().back()), ldb = static_cast<int>(b.t.shape().back());
  check_cublas(cublasGemmStridedBatchedEx(handle(device), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), alpha,
                                          b.t.data_ptr(), type, ldb, b.batch_stride, a.t.data_ptr(), type, lda, a.batch_stride,
                                          beta, c.data_ptr(), type, static_cast<int>(n), static_cast<long long>(m * n),
                                          static_cast<int>(batches), compute, CUBLAS_GEMM_DEFAULT),
               call.name());
}

}  // namespace

void register_matmul_kernels() {
  register_kernel("matmul", DeviceType::GPU, matmul_kernel,
                  mask_of({DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64}));
}

}  // namespace loom::cuda
