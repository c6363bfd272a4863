// The CUDA backend: devices, a caching allocator per device, one stream per device, copies.
// Built as libloom_cuda.so and loaded by libloom.so at run time (loom_cuda_backend_init).
#include <cuda_runtime.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/common.hpp"
#include "cuda/registration.hpp"
#include "loom/backend/backend.hpp"
#include "loom/backend/caching_allocator.hpp"
#include "loom/error.hpp"

namespace loom::cuda {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear the sticky per-thread error where possible
  const std::string message = std::string("[") + what + "] CUDA error: " + cudaGetErrorString(status);
  if (status == cudaErrorMemoryAllocation) throw OutOfMemoryError(message);
  throw DeviceError(message);
}

void check_launch(const char* op) { check(cudaGetLastError(), op); }

void use_device(int device) {
  thread_local int current = -1;
  if (current == device) return;
  check(cudaSetDevice(device), "cudaSetDevice");
  current = device;
}

namespace {

std::vector<cudaStream_t>& streams() {
  static std::vector<cudaStream_t> s;
  return s;
}

// Device memory for the shared caching allocator (the stream orders the reuse of a freed block
// after the kernels that used it: one stream per device).
class CudaMemory final : public RawMemory {
 public:
  explicit CudaMemory(int device) : device_(device) {}
  void* allocate(size_t bytes) override {
    use_device(device_);
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return p;
  }
  void release(void* ptr) override {
    use_device(device_);
    cudaFree(ptr);
  }
  size_t free_bytes() override {
    size_t free_bytes = 0, total = 0;
    use_device(device_);
    check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
    return free_bytes;
  }
  void synchronize() override { check(cudaStreamSynchronize(streams()[static_cast<size_t>(device_)]), "synchronize"); }

 private:
  int device_;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int count) {
    for (int i = 0; i < count; ++i) {
      allocators_.push_back(std::make_unique<CachingAllocator>("GPU:" + std::to_string(i), std::make_unique<CudaMemory>(i)));
      use_device(i);
      cudaStream_t s;
      check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
      streams().push_back(s);
    }
  }
  DeviceType type() const override { return DeviceType::GPU; }
  int device_count() const override { return static_cast<int>(allocators_.size()); }
  PhysicalDevice describe(int index) const override {
    cudaDeviceProp p{};
    check(cudaGetDeviceProperties(&p, index), "cudaGetDeviceProperties");
    use_device(index);
    size_t free_bytes = 0, total = 0;
    check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
    PhysicalDevice d;
    d.name = "GPU:" + std::to_string(index);
    d.device_type = "GPU";
    d.description = std::string(p.name) + ", compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor);
    d.total_memory = static_cast<int64_t>(total);
    d.free_memory = static_cast<int64_t>(free_bytes);
    d.compute_capability_major = p.major;
    d.compute_capability_minor = p.minor;
    return d;
  }
  Allocator& allocator(int index) override { return *allocators_[static_cast<size_t>(index)]; }
  void copy_from_host(void* dst, const void* src, size_t n, int index) override {
    use_device(index);
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream(index)), "copy to GPU");
    // Pageable sources are staged before the call returns; sync so the caller may free them.
    check(cudaStreamSynchronize(stream(index)), "copy to GPU");
  }
  void copy_to_host(void* dst, const void* src, size_t n, int index) override {
    use_device(index);
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream(index)), "copy from GPU");
    check(cudaStreamSynchronize(stream(index)), "copy from GPU");
  }
  void copy_on_device(void* dst, const void* src, size_t n, int index) override {
    use_device(index);
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream(index)), "copy on GPU");
  }
  void synchronize(int index) override {
    use_device(index);
    check(cudaStreamSynchronize(stream(index)), "synchronize");
  }

 private:
  std::vector<std::unique_ptr<CachingAllocator>> allocators_;
};

}  // namespace

cudaStream_t stream(int device) {
  use_device(device);
  return streams()[static_cast<size_t>(device)];
}

bool make_indexer(const backend::StridedLayout& layout, Indexer& ix) {
  if (layout.shape.rank() > kMaxDims) return false;
  ix.ndim = layout.shape.rank();
  for (int d = 0; d < ix.ndim; ++d) {
    ix.shape[d] = layout.shape[static_cast<size_t>(d)];
    for (int op = 0; op < layout.nops; ++op) ix.strides[op][d] = layout.strides[op][static_cast<size_t>(d)];
  }
  return true;
}

}  // namespace loom::cuda

// Called once by libloom.so after dlopen. Returns 0 when the backend is registered; non-zero
// (and registers nothing, with the reason in `message`) when the interface differs or no GPU
// and driver are usable.
extern "C" __attribute__((visibility("default"))) int loom_cuda_backend_init(int interface_version, char* message,
                                                                              int capacity) {
  auto say = [&](const std::string& text) { std::snprintf(message, static_cast<size_t>(capacity), "%s", text.c_str()); };
  if (interface_version != loom::Backend::kInterfaceVersion) {
    say("libloom_cuda.so was built for backend interface " + std::to_string(loom::Backend::kInterfaceVersion));
    return 1;
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    say(status != cudaSuccess ? std::string("no usable GPU (") + cudaGetErrorString(status) + ")" : "no GPU found");
    cudaGetLastError();
    return 2;
  }
  try {
    loom::register_backend(std::make_unique<loom::cuda::CudaBackend>(count));
    loom::cuda::register_all_kernels();
    return 0;
  } catch (const std::exception& e) {
    say(std::string("initialisation failed: ") + e.what());
    return 3;
  }
}
