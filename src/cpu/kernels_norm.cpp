// Batch normalisation kernels on the CPU (channels last): per-channel statistics accumulate in
// double, rows of channels are contiguous and vectorise; rows are split across threads with
// per-thread partial sums. bfloat16 (storage S) is read into float (T) and rounded once on store.
#include <cmath>
#include <vector>

#include "cpu/loops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

// Sums f(row, c) over rows for each channel, in parallel with per-thread partials.
template <class F>
std::vector<double> channel_sums(int64_t rows, int64_t C, F&& f) {
  const int nt = detail::threads_for(rows * C, kCheapGrain);
  std::vector<std::vector<double>> partial(static_cast<size_t>(std::max(nt, 1)), std::vector<double>(static_cast<size_t>(C), 0.0));
  parallel_chunks(nt, nt, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      double* acc = partial[static_cast<size_t>(t)].data();
      for (int64_t r = rows * t / nt; r < rows * (t + 1) / nt; ++r) f(r, acc);
    }
  });
  std::vector<double> total(static_cast<size_t>(C), 0.0);
  for (const auto& p : partial) {
    for (int64_t c = 0; c < C; ++c) total[static_cast<size_t>(c)] += p[static_cast<size_t>(c)];
  }
  return total;
}

void batch_norm_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const Tensor gamma_t = call.inputs[1].contiguous(), beta_t = call.inputs[2].contiguous();
  const double eps = call.attrs.get_float("epsilon", call.name());
  const int64_t C = x.shape().back(), rows = C ? x.numel() / C : 0;
  visit_float_or_bf16(x.dtype(), [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* xp = static_cast<const S*>(x.data_ptr());
    const S* gamma = static_cast<const S*>(gamma_t.data_ptr());
    const S* beta = static_cast<const S*>(beta_t.data_ptr());
    S* y = static_cast<S*>(out[0].data_ptr());
    S* mean_out = static_cast<S*>(out[1].data_ptr());
    S* var_out = static_cast<S*>(out[2].data_ptr());
    const double inv_rows = rows ? 1.0 / static_cast<double>(rows) : 0.0;
    std::vector<double> mean = channel_sums(rows, C, [&](int64_t r, double* acc) {
      const S* row = xp + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<T>(row[c]);
    });
    for (double& m : mean) m *= inv_rows;
    // Two passes (mean, then squared deviations) keep the variance accurate.
    std::vector<double> var = channel_sums(rows, C, [&](int64_t r, double* acc) {
      const S* row = xp + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double d = static_cast<T>(row[c]) - mean[static_cast<size_t>(c)];
        acc[c] += d * d;
      }
    });
    std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const auto k = static_cast<size_t>(c);
      var[k] *= inv_rows;
      mean_out[c] = static_cast<S>(static_cast<T>(mean[k]));
      var_out[c] = static_cast<S>(static_cast<T>(var[k]));
      const double s = static_cast<T>(gamma[c]) / std::sqrt(var[k] + eps);
      scale[k] = static_cast<T>(s);
      shift[k] = static_cast<T>(static_cast<T>(beta[c]) - mean[k] * s);
    }
    parallel_chunks(rows, detail::threads_for(rows * C, kCheapGrain), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const S* row = xp + r * C;
        S* yr = y + r * C;
        for (int64_t c = 0; c < C; ++c) {
          yr[c] = static_cast<S>(static_cast<T>(row[c]) * scale[static_cast<size_t>(c)] + shift[static_cast<size_t>(c)]);
        }
      }
    });
  });
}

// dx = gamma * inv_std / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)).
void batch_norm_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous(), x = call.inputs[1].contiguous();
  const Tensor gamma_t = call.inputs[2].contiguous(), mean_t = call.inputs[3].contiguous();
  const Tensor var_t = call.inputs[4].contiguous();
  const double eps = call.attrs.get_float("epsilon", call.name());
  const int64_t C = x.shape().back(), rows = C ? x.numel() / C : 0;
  visit_float_or_bf16(x.dtype(), [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* g = static_cast<const S*>(dy.data_ptr());
    const S* xp = static_cast<const S*>(x.data_ptr());
    const S* gamma = static_cast<const S*>(gamma_t.data_ptr());
    const S* mean_s = static_cast<const S*>(mean_t.data_ptr());
    const S* var = static_cast<const S*>(var_t.data_ptr());
    std::vector<T> inv_std(static_cast<size_t>(C)), mean(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      inv_std[static_cast<size_t>(c)] = static_cast<T>(1.0 / std::sqrt(static_cast<T>(var[c]) + eps));
      mean[static_cast<size_t>(c)] = static_cast<T>(mean_s[c]);
    }
    // One pass for both sums: sum(dy) and sum(dy * (x - mean)).
    std::vector<double> sums = channel_sums(rows, 2 * C, [&](int64_t r, double* acc) {
      const S* gr = g + r * C;
      const S* xr = xp + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const T gc = static_cast<T>(gr[c]);
        acc[c] += gc;
        acc[C + c] += gc * (static_cast<T>(xr[c]) - mean[static_cast<size_t>(c)]);
      }
    });
    S* dx = static_cast<S*>(out[0].data_ptr());
    S* dgamma = static_cast<S*>(out[1].data_ptr());
    S* dbeta = static_cast<S*>(out[2].data_ptr());
    const double m = static_cast<double>(rows);
    std::vector<T> a(static_cast<size_t>(C)), b(static_cast<size_t>(C)), k(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const auto i = static_cast<size_t>(c);
      const double is = inv_std[i];
      dbeta[c] = static_cast<S>(static_cast<T>(sums[i]));
      dgamma[c] = static_cast<S>(static_cast<T>(sums[static_cast<size_t>(C + c)] * is));
      // dx = k * (dy - a - (x - mean) * b) with k = gamma * inv_std.
      k[i] = static_cast<T>(static_cast<T>(gamma[c]) * is);
      a[i] = static_cast<T>(m > 0 ? sums[i] / m : 0.0);
      b[i] = static_cast<T>(m > 0 ? sums[static_cast<size_t>(C + c)] * is * is / m : 0.0);
    }
    parallel_chunks(rows, detail::threads_for(rows * C, kCheapGrain), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const S* gr = g + r * C;
        const S* xr = xp + r * C;
        S* d = dx + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const auto i = static_cast<size_t>(c);
          d[c] = static_cast<S>(k[i] * (static_cast<T>(gr[c]) - a[i] - (static_cast<T>(xr[c]) - mean[i]) * b[i]));
        }
      }
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_norm) {
  const DTypeMask types = kFloatTypes | mask_of({DType::BFloat16});
  register_kernel("batch_norm", DeviceType::CPU, batch_norm_kernel, types);
  register_kernel("batch_norm_grad", DeviceType::CPU, batch_norm_grad_kernel, types);
}

}  // namespace loom::cpu
