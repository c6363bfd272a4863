// Tensors: creation from host memory and generators, facts, copies out, devices, files.
#include "errors.hpp"
#include "handles.hpp"
#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/io.hpp"

using namespace loom::capi;

namespace {

const loom::Tensor& tensor_of(const loom_tensor* t) { return live(t, "tensor").value; }

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_tensor_from_host(const void* data, size_t nbytes, const int64_t* dims, int32_t rank,
                                            int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_from_host", out, [&] {
    require(data != nullptr || nbytes == 0, "data is NULL");
    return loom::from_host(data, nbytes, shape_arg(dims, rank), dtype_arg(dtype));
  });
}

LOOM_CAPI loom_status loom_tensor_wrap_host(void* data, size_t nbytes, const int64_t* dims, int32_t rank, int32_t dtype,
                                            void (*deleter)(void* data, void* user), void* user, loom_tensor** out) {
  // The deleter runs exactly once: here if the arguments fail before loom::wrap_host owns it.
  struct Pending {
    void* data;
    void (*deleter)(void*, void*);
    void* user;
    ~Pending() {
      if (deleter) deleter(data, user);
    }
  } pending{data, deleter, user};
  return tensor_result("loom_tensor_wrap_host", out, [&] {
    const loom::Shape shape = shape_arg(dims, rank);
    pending.deleter = nullptr;  // from here loom::wrap_host calls it, also when it fails
    return loom::wrap_host(data, nbytes, shape, static_cast<loom::DType>(dtype), deleter, user);
  });
}

LOOM_CAPI loom_status loom_tensor_fill(const int64_t* dims, int32_t rank, double value, int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_fill", out, [&] { return loom::fill(shape_arg(dims, rank), value, dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_tensor_zeros(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_zeros", out, [&] { return loom::zeros(shape_arg(dims, rank), dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_tensor_ones(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_ones", out, [&] { return loom::ones(shape_arg(dims, rank), dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_tensor_arange(double start, double stop, double step, int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_arange", out, [&] { return loom::arange(start, stop, step, dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_tensor_random_normal(const int64_t* dims, int32_t rank, double mean, double stddev,
                                                int32_t dtype, uint64_t seed, loom_tensor** out) {
  return tensor_result("loom_tensor_random_normal", out, [&] {
    return loom::random_normal(shape_arg(dims, rank), mean, stddev, dtype_arg(dtype), seed);
  });
}

LOOM_CAPI loom_status loom_tensor_random_uniform(const int64_t* dims, int32_t rank, double minval, double maxval,
                                                 int32_t dtype, uint64_t seed, loom_tensor** out) {
  return tensor_result("loom_tensor_random_uniform", out, [&] {
    return loom::random_uniform(shape_arg(dims, rank), minval, maxval, dtype_arg(dtype), seed);
  });
}

LOOM_CAPI void loom_tensor_release(loom_tensor* tensor) { release_handle(tensor, "loom_tensor_release"); }

LOOM_CAPI loom_status loom_tensor_rank(const loom_tensor* tensor, int32_t* out) {
  return guarded("loom_tensor_rank", [&] { value_out(out, "out") = tensor_of(tensor).rank(); });
}

LOOM_CAPI loom_status loom_tensor_shape(const loom_tensor* tensor, int64_t* dims, int32_t capacity, int32_t* rank) {
  return guarded("loom_tensor_shape", [&] {
    const loom::Shape& shape = tensor_of(tensor).shape();
    count_arg(dims, capacity, "dims", "capacity");
    for (int32_t i = 0; i < capacity && i < shape.rank(); ++i) dims[i] = shape[static_cast<size_t>(i)];
    if (rank) *rank = shape.rank();
  });
}

LOOM_CAPI loom_status loom_tensor_dtype(const loom_tensor* tensor, int32_t* out) {
  return guarded("loom_tensor_dtype",
                 [&] { value_out(out, "out") = static_cast<int32_t>(tensor_of(tensor).dtype()); });
}

LOOM_CAPI loom_status loom_tensor_numel(const loom_tensor* tensor, int64_t* out) {
  return guarded("loom_tensor_numel", [&] { value_out(out, "out") = tensor_of(tensor).numel(); });
}

LOOM_CAPI loom_status loom_tensor_nbytes(const loom_tensor* tensor, size_t* out) {
  return guarded("loom_tensor_nbytes", [&] { value_out(out, "out") = tensor_of(tensor).nbytes(); });
}

LOOM_CAPI loom_status loom_tensor_device(const loom_tensor* tensor, char* buffer, size_t capacity) {
  return guarded("loom_tensor_device", [&] { copy_out(tensor_of(tensor).device().str(), buffer, capacity); });
}

LOOM_CAPI loom_status loom_tensor_to_host(const loom_tensor* tensor, void* dst, size_t nbytes) {
  return guarded("loom_tensor_to_host", [&] {
    const loom::Tensor& t = tensor_of(tensor);
    require(dst != nullptr || nbytes == 0, "dst is NULL");
    t.copy_to_host(dst, nbytes);
  });
}

LOOM_CAPI loom_status loom_tensor_item(const loom_tensor* tensor, double* out) {
  return guarded("loom_tensor_item", [&] {
    double& result = value_out(out, "out");
    result = tensor_of(tensor).item<double>();
  });
}

LOOM_CAPI loom_status loom_tensor_cast(const loom_tensor* tensor, int32_t dtype, loom_tensor** out) {
  return tensor_result("loom_tensor_cast", out, [&] { return tensor_of(tensor).cast(dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_tensor_to_device(const loom_tensor* tensor, const char* device, loom_tensor** out) {
  return tensor_result("loom_tensor_to_device", out,
                     [&] { return tensor_of(tensor).to(std::string_view(string_arg(device, "device"))); });
}

LOOM_CAPI loom_status loom_tensor_save_npy(const loom_tensor* tensor, const char* path) {
  return guarded("loom_tensor_save_npy", [&] { loom::save_npy(string_arg(path, "path"), tensor_of(tensor)); });
}

LOOM_CAPI loom_status loom_tensor_load_npy(const char* path, loom_tensor** out) {
  return tensor_result("loom_tensor_load_npy", out, [&] { return loom::load_npy(string_arg(path, "path")); });
}

LOOM_CAPI loom_status loom_idx_load(const char* path, loom_tensor** out) {
  return tensor_result("loom_idx_load", out, [&] { return loom::data::read_idx(string_arg(path, "path")); });
}

}  // extern "C"
