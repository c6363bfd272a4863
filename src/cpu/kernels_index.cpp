// gather and scatter_add on the CPU.
#include <cstring>
#include <string>

#include "cpu/loops.hpp"
#include "loom/error.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

// Indices as int64, checked against [0, dim) (negative indices are errors, as TF on CPU).
std::vector<int64_t> checked_indices(const OpCall& call, const Tensor& indices, int64_t dim) {
  std::vector<int64_t> idx = indices.to_vector<int64_t>();
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= dim) {
      throw InvalidArgument(std::string("[") + call.name() + "] index " + std::to_string(idx[i]) +
                            " at position " + std::to_string(i) + " is out of range [0, " +
                            std::to_string(dim) + ")");
    }
  }
  return idx;
}

void gather_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor params = call.inputs[0].contiguous();
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), params.rank(), call.name());
  const int64_t dim = params.shape()[static_cast<size_t>(axis)];
  const auto idx = checked_indices(call, call.inputs[1], dim);
  if (out[0].numel() == 0) return;  // indices checked; nothing to copy (and no buffers)
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= params.shape()[i];
  for (int i = axis + 1; i < params.rank(); ++i) inner *= params.shape()[i];
  const size_t esize = dtype_size(params.dtype());
  const size_t row = static_cast<size_t>(inner) * esize;
  const auto* src = static_cast<const char*>(params.data_ptr());
  auto* dst = static_cast<char*>(out[0].data_ptr());
  const auto n = static_cast<int64_t>(idx.size());
  parallel_chunks(outer * n, detail::threads_for(outer * n * inner, kCheapGrain), [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      const int64_t o = task / n, i = task % n;
      std::memcpy(dst + static_cast<size_t>(task) * row,
                  src + (static_cast<size_t>(o * dim + idx[static_cast<size_t>(i)])) * row, row);
    }
  });
}

void scatter_add_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor updates = call.inputs[0].contiguous();
  const Tensor& indices = call.inputs[1];
  const int64_t axis = call.attrs.get_int("axis", call.name());
  const int64_t dim = call.attrs.get_int("dim_size", call.name());
  const auto idx = checked_indices(call, indices, dim);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= updates.shape()[static_cast<size_t>(i)];
  for (int i = static_cast<int>(axis) + indices.rank(); i < updates.rank(); ++i) inner *= updates.shape()[i];
  const auto n = static_cast<int64_t>(idx.size());
  visit_numeric(updates.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(out[0].data_ptr());
    const T* src = static_cast<const T*>(updates.data_ptr());
    for (int64_t i = 0; i < out[0].numel(); ++i) dst[i] = T(0);
    // Parallel over outer slices only: two indices may hit the same row.
    parallel_chunks(outer, detail::threads_for(outer * n * inner, kCheapGrain), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        for (int64_t i = 0; i < n; ++i) {
          T* d = dst + (o * dim + idx[static_cast<size_t>(i)]) * inner;
          const T* s = src + (o * n + i) * inner;
          for (int64_t j = 0; j < inner; ++j) d[j] = static_cast<T>(d[j] + s[j]);
        }
      }
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_index) {
  register_kernel("gather", DeviceType::CPU, gather_kernel, kAllTypes);
  register_kernel("scatter_add", DeviceType::CPU, scatter_add_kernel, kNumeric);
}

}  // namespace loom::cpu
