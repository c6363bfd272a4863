// conv2d and its two gradients on cuDNN's convolution API (still shipped in cuDNN 9 and far
// smaller than building graphs through the backend API for three fixed operations). Activations
// stay NHWC; the HWIO filter is handed to cuDNN as KRSC (O, H, W, I), cuDNN's NHWC filter layout.
// Algorithms come from cuDNN's heuristics, restricted to deterministic ones so that a GPU run
// repeats bit for bit (as the im2col kernels do), and are cached per shape. float16 and bfloat16
// (mixed-precision policies) run on tensor cores, accumulating in float32.
#include <cudnn.h>

#include <array>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/common.hpp"
#include "cuda/conv_cudnn.hpp"
#include "loom/device.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

constexpr size_t kMaxWorkspaceBytes = size_t{512} << 20;

struct Choice {
  bool usable = false;
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
};

// A cuDNN handle may not be used by two threads at once: one per device, used under its mutex,
// bound to the device's stream. Kept for the life of the process, as the streams are.
struct DeviceHandle {
  std::mutex mutex;
  cudnnHandle_t handle = nullptr;
  std::map<std::array<int64_t, 18>, Choice> choices;
};

DeviceHandle* handle_for(int device) {
  static std::mutex registry_mutex;
  static std::map<int, std::unique_ptr<DeviceHandle>> handles;
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = handles.find(device);
  if (it == handles.end()) {
    auto entry = std::make_unique<DeviceHandle>();
    const cudaStream_t s = stream(device);
    if (cudnnCreate(&entry->handle) != CUDNN_STATUS_SUCCESS) entry->handle = nullptr;
    else if (cudnnSetStream(entry->handle, s) != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(entry->handle);
      entry->handle = nullptr;
    }
    it = handles.emplace(device, std::move(entry)).first;
  }
  return it->second->handle == nullptr ? nullptr : it->second.get();
}

// The four descriptors of one convolution; `valid` is false when cuDNN cannot describe it
// (its output size differs from loom's, i.e. the padding is not symmetric).
class Descriptors {
 public:
  Descriptors(const ops::Conv2DGeometry& geo, cudnnDataType_t type, cudnnDataType_t compute, cudnnMathType_t math) {
    const auto& w = geo.win;
    const int n = static_cast<int>(geo.n), c = static_cast<int>(geo.c_in), o = static_cast<int>(geo.c_out);
    const int groups = static_cast<int>(geo.groups);
    valid = cudnnCreateTensorDescriptor(&x) == CUDNN_STATUS_SUCCESS && cudnnCreateTensorDescriptor(&y) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateFilterDescriptor(&f) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateConvolutionDescriptor(&conv) == CUDNN_STATUS_SUCCESS &&
            cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, type, n, c, int(w.in_h), int(w.in_w)) == CUDNN_STATUS_SUCCESS &&
            cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, type, n, o, int(w.out_h), int(w.out_w)) == CUDNN_STATUS_SUCCESS &&
            cudnnSetFilter4dDescriptor(f, type, CUDNN_TENSOR_NHWC, o, c / groups, int(w.k_h), int(w.k_w)) == CUDNN_STATUS_SUCCESS &&
            cudnnSetConvolution2dDescriptor(conv, int(w.pad_top), int(w.pad_left), int(w.stride_h), int(w.stride_w), int(w.dil_h),
                                            int(w.dil_w), CUDNN_CROSS_CORRELATION, compute) == CUDNN_STATUS_SUCCESS &&
            cudnnSetConvolutionGroupCount(conv, groups) == CUDNN_STATUS_SUCCESS &&
            cudnnSetConvolutionMathType(conv, math) == CUDNN_STATUS_SUCCESS;
    // With symmetric padding the windows of both agree exactly when the output sizes do: a
    // larger bottom/right padding that no window reaches changes nothing.
    int on = 0, oc = 0, oh = 0, ow = 0;
    valid = valid && cudnnGetConvolution2dForwardOutputDim(conv, x, f, &on, &oc, &oh, &ow) == CUDNN_STATUS_SUCCESS &&
            on == n && oc == o && oh == w.out_h && ow == w.out_w;
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
  ~Descriptors() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (f) cudnnDestroyFilterDescriptor(f);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
  }

  bool valid = false;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t f = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

// The three directions through one driver. Each cuDNN call of a direction takes the same three
// descriptors in the same order (A, B, then the result C after the convolution descriptor); the
// data pointers of `run` follow that order.
template <int Id, class PerfT, auto MaxCount, auto Heuristics, auto Workspace, auto Run, auto A, auto B, auto C>
struct Direction {
  static constexpr int kId = Id;
  using Perf = PerfT;
  using Algo = decltype(PerfT::algo);
  static cudnnStatus_t max_count(cudnnHandle_t h, int* n) { return MaxCount(h, n); }
  static cudnnStatus_t heuristics(cudnnHandle_t h, const Descriptors& d, int n, int* got, Perf* p) {
    return Heuristics(h, d.*A, d.*B, d.conv, d.*C, n, got, p);
  }
  static cudnnStatus_t workspace(cudnnHandle_t h, const Descriptors& d, Algo algo, size_t* bytes) {
    return Workspace(h, d.*A, d.*B, d.conv, d.*C, algo, bytes);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descriptors& d, Algo algo, const void* one, const void* zero, const void* a,
                           const void* b, void* c, void* ws, size_t ws_bytes) {
    return Run(h, one, d.*A, a, d.*B, b, d.conv, algo, ws, ws_bytes, zero, d.*C, c);
  }
};

// y = conv(x, f); dx from (f, dy); df from (x, dy). `y` describes dy as well.
using Forward = Direction<0, cudnnConvolutionFwdAlgoPerf_t, cudnnGetConvolutionForwardAlgorithmMaxCount,
                          cudnnGetConvolutionForwardAlgorithm_v7, cudnnGetConvolutionForwardWorkspaceSize,
                          cudnnConvolutionForward, &Descriptors::x, &Descriptors::f, &Descriptors::y>;
using BackwardData = Direction<1, cudnnConvolutionBwdDataAlgoPerf_t, cudnnGetConvolutionBackwardDataAlgorithmMaxCount,
                               cudnnGetConvolutionBackwardDataAlgorithm_v7, cudnnGetConvolutionBackwardDataWorkspaceSize,
                               cudnnConvolutionBackwardData, &Descriptors::f, &Descriptors::y, &Descriptors::x>;
using BackwardFilter =
    Direction<2, cudnnConvolutionBwdFilterAlgoPerf_t, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount,
              cudnnGetConvolutionBackwardFilterAlgorithm_v7, cudnnGetConvolutionBackwardFilterWorkspaceSize,
              cudnnConvolutionBackwardFilter, &Descriptors::x, &Descriptors::y, &Descriptors::f>;

bool fits_int(const ops::Conv2DGeometry& geo) {
  const auto& w = geo.win;
  for (const int64_t v : {geo.n, geo.c_in, geo.c_out, w.in_h, w.in_w, w.out_h, w.out_w, w.k_h, w.k_w, w.stride_h, w.stride_w,
                          w.dil_h, w.dil_w, w.pad_top, w.pad_left}) {
    if (v > INT_MAX) return false;
  }
  return true;
}

// The first deterministic algorithm of cuDNN's heuristic ranking within the workspace bound
// that keeps to the asked math (FMA_MATH: float32 without TF32 tensor cores).
template <class D>
Choice choose(cudnnHandle_t h, const Descriptors& d, cudnnMathType_t math) {
  int count = 0, got = 0;
  if (D::max_count(h, &count) != CUDNN_STATUS_SUCCESS || count <= 0) return {};
  std::vector<typename D::Perf> perf(static_cast<size_t>(count));
  if (D::heuristics(h, d, count, &got, perf.data()) != CUDNN_STATUS_SUCCESS) return {};
  for (int i = 0; i < got; ++i) {
    const auto& p = perf[static_cast<size_t>(i)];
    if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC || p.memory > kMaxWorkspaceBytes) continue;
    if (math == CUDNN_FMA_MATH && p.mathType != CUDNN_FMA_MATH) continue;
    return {true, static_cast<int>(p.algo), p.mathType};
  }
  return {};
}

// cuDNN's data type for a loom dtype (false: none).
bool data_type(DType dtype, cudnnDataType_t* type) {
  switch (dtype) {
    case DType::Float32: *type = CUDNN_DATA_FLOAT; return true;
    case DType::Float64: *type = CUDNN_DATA_DOUBLE; return true;
    case DType::Float16: *type = CUDNN_DATA_HALF; return true;
    case DType::BFloat16: *type = CUDNN_DATA_BFLOAT16; return true;
    default: return false;
  }
}

template <class D>
bool convolve(const char* op, const ops::Conv2DGeometry& geo, DType dtype, Device device, const void* a, const void* b,
              void* c) {
  cudnnDataType_t type{};
  if (!cudnn_enabled() || !fits_int(geo) || !data_type(dtype, &type)) return false;
  use_device(device.index);  // a cuDNN handle works on the device that was current at its creation
  DeviceHandle* h = handle_for(device.index);
  if (h == nullptr) return false;
  const bool half = dtype == DType::Float16 || dtype == DType::BFloat16;
  const bool tf32 = dtype == DType::Float32 && float32_matmul_precision() == "high";
  // 16-bit data accumulates in float32 on tensor cores; float32 stays full precision unless
  // float32_matmul_precision is "high" (TF32), as for matrix products.
  const cudnnDataType_t compute = dtype == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  const cudnnMathType_t math = half ? CUDNN_TENSOR_OP_MATH : dtype == DType::Float32 && !tf32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;

  std::lock_guard<std::mutex> lock(h->mutex);
  Descriptors d(geo, type, compute, math);
  if (!d.valid) return false;
  const auto& w = geo.win;
  const std::array<int64_t, 18> key{D::kId, static_cast<int64_t>(dtype), tf32, geo.n, geo.c_in, geo.c_out, geo.groups,
                                    w.in_h, w.in_w, w.k_h, w.k_w, w.stride_h, w.stride_w, w.dil_h, w.dil_w, w.pad_top,
                                    w.pad_left, w.out_h * w.out_w};
  auto it = h->choices.find(key);
  if (it == h->choices.end()) it = h->choices.emplace(key, choose<D>(h->handle, d, math)).first;
  const Choice& choice = it->second;
  if (!choice.usable) return false;

  const auto algo = static_cast<typename D::Algo>(choice.algo);
  size_t bytes = 0;
  if (cudnnSetConvolutionMathType(d.conv, choice.math) != CUDNN_STATUS_SUCCESS ||
      D::workspace(h->handle, d, algo, &bytes) != CUDNN_STATUS_SUCCESS)
    return false;
  const Tensor workspace = empty({static_cast<int64_t>(bytes)}, DType::UInt8, device, op);
  // The scaling factors are double for double data, float for every other type.
  const float one_f = 1, zero_f = 0;
  const double one_d = 1, zero_d = 0;
  const void* one = dtype != DType::Float64 ? static_cast<const void*>(&one_f) : &one_d;
  const void* zero = dtype != DType::Float64 ? static_cast<const void*>(&zero_f) : &zero_d;
  const cudnnStatus_t status = D::run(h->handle, d, algo, one, zero, a, b, c, bytes ? workspace.data_ptr() : nullptr, bytes);
  if (status != CUDNN_STATUS_SUCCESS) throw DeviceError(std::string("[") + op + "] cuDNN error: " + cudnnGetErrorString(status));
  check_launch(op);
  return true;
}

// HWIO <-> KRSC (cuDNN's NHWC filter layout).
Tensor to_krsc(const Tensor& hwio) { return transpose(hwio, {3, 0, 1, 2}).contiguous(); }

}  // namespace

bool cudnn_conv2d(const ops::Conv2DGeometry& geo, const Tensor& x, const Tensor& filter, const Tensor& out) {
  const Tensor xc = x.contiguous(), f = to_krsc(filter);
  return convolve<Forward>("conv2d", geo, x.dtype(), x.device(), xc.data_ptr(), f.data_ptr(), out.data_ptr());
}

bool cudnn_conv2d_backprop_input(const ops::Conv2DGeometry& geo, const Tensor& dy, const Tensor& filter, const Tensor& out) {
  const Tensor dyc = dy.contiguous(), f = to_krsc(filter);
  return convolve<BackwardData>("conv2d_backprop_input", geo, dy.dtype(), dy.device(), f.data_ptr(), dyc.data_ptr(),
                                out.data_ptr());
}

bool cudnn_conv2d_backprop_filter(const ops::Conv2DGeometry& geo, const Tensor& x, const Tensor& dy, const Tensor& out) {
  const Tensor xc = x.contiguous(), dyc = dy.contiguous();
  const auto& w = geo.win;
  const Tensor krsc = empty({geo.c_out, w.k_h, w.k_w, geo.c_in / geo.groups}, out.dtype(), out.device(), "conv2d_backprop_filter");
  if (!convolve<BackwardFilter>("conv2d_backprop_filter", geo, x.dtype(), x.device(), xc.data_ptr(), dyc.data_ptr(),
                                krsc.data_ptr()))
    return false;
  ops::copy_into(out, transpose(krsc, {1, 2, 3, 0}));
  return true;
}

}  // namespace loom::cuda
