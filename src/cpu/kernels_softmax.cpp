// softmax and log_softmax on the CPU: rows along the reduced axis, max-shifted for stability.
#include <cmath>

#include "cpu/loops.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

template <bool Log>
void softmax_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& x = call.inputs[0];
  const int axis = normalize_axis(call.attrs.get_int("axis", call.name()), x.rank(), call.name());
  // Rows are contiguous when the axis is last; otherwise work on a transposed copy.
  std::vector<int64_t> perm;
  for (int i = 0; i < x.rank(); ++i) {
    if (i != axis) perm.push_back(i);
  }
  perm.push_back(axis);
  const bool last = axis == x.rank() - 1;
  const Tensor src = last ? x.contiguous() : transpose(x, perm).contiguous();
  const Tensor dst = last ? out[0] : empty(src.shape(), x.dtype(), Device::cpu(), call.name());
  const int64_t n = x.shape()[static_cast<size_t>(axis)];
  const int64_t rows = n ? x.numel() / n : 0;
  visit_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(src.data_ptr());
    T* o = static_cast<T*>(dst.data_ptr());
    parallel_chunks(rows, detail::threads_for(rows * n * 4, kCheapGrain), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = in + r * n;
        T* y = o + r * n;
        T mx = row[0];
        for (int64_t i = 1; i < n; ++i) mx = row[i] > mx ? row[i] : mx;
        T sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          y[i] = std::exp(row[i] - mx);
          sum += y[i];
        }
        if constexpr (Log) {
          const T lse = std::log(sum);
          for (int64_t i = 0; i < n; ++i) y[i] = row[i] - mx - lse;
        } else {
          const T inv = T(1) / sum;
          for (int64_t i = 0; i < n; ++i) y[i] *= inv;
        }
      }
    });
  });
  if (!last) {
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
    ops::copy_into(out[0], transpose(dst, inverse));
  }
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_softmax) {
  register_kernel("softmax", DeviceType::CPU, softmax_kernel<false>, kFloatTypes);
  register_kernel("log_softmax", DeviceType::CPU, softmax_kernel<true>, kFloatTypes);
}

}  // namespace loom::cpu
