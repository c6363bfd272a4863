// Per-channel kernels on the CPU (channels last): batch normalisation, and relu's gradient with
// the bias gradient of the op it ends (relu_bias_grad). Per-channel sums accumulate in double;
// rows are split across threads with per-thread partial sums. bfloat16 (storage S) is read into
// float (T) and rounded once on store.
//
// Element i belongs to channel i % C. Blocks of L = lcm(C, 16) elements start at a multiple of
// C, so element j of every block belongs to channel j % C: every pass is a flat loop over blocks
// against per-lane values (a channel's value repeated along the block), which vectorizes
// whatever C is. (Looping over channels within each row of C did not for LeNet's 6 channels:
// batch norm was 30% of a BN-LeNet epoch at 1 thread.)
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cpu/loops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

struct Lanes {
  int64_t C, L;
  explicit Lanes(int64_t channels) : C(channels), L(std::lcm(channels, int64_t{16})) {}
  // Per-channel values repeated along a block.
  template <class T>
  std::vector<T> repeat(const std::vector<T>& per_channel) const {
    std::vector<T> out(static_cast<size_t>(L));
    for (int64_t j = 0; j < L; ++j) out[static_cast<size_t>(j)] = per_channel[static_cast<size_t>(j % C)];
    return out;
  }
  // Per-lane sums added up per channel: `width` groups of L lanes give width groups of C.
  std::vector<double> fold(const std::vector<double>& lanes, int width) const {
    std::vector<double> out(static_cast<size_t>(width * C), 0.0);
    for (int w = 0; w < width; ++w) {
      for (int64_t j = 0; j < L; ++j) out[static_cast<size_t>(w * C + j % C)] += lanes[static_cast<size_t>(w * L + j)];
    }
    return out;
  }
};

// The passes over the blocks: batch norm's four, and ReluBiasGrad. Per-lane values (a channel's
// value repeated along a block): shift (Moments: x's shift, in double), u, v, w and mu (the
// mean) as each pass names them.
enum class Pass { Moments, Normalize, GradSums, GradInput, ReluBiasGrad };

template <class S>
struct Operands {
  using T = compute_t<S>;
  const S* x = nullptr;
  const S* dy = nullptr;
  S* out = nullptr;  // y or dx
  const double* shift = nullptr;
  const T* u = nullptr;
  const T* v = nullptr;
  const T* w = nullptr;
  const T* mu = nullptr;
};

// Runs one pass over blocks [b0, b1) of n elements in blocks of L; the sum passes add into acc
// (2 * L per-lane partial sums).
template <class S>
inline void run_blocks(Pass pass, const Operands<S>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* __restrict acc) {
  using T = compute_t<S>;
  const T* __restrict u = o.u;
  const T* __restrict v = o.v;
  const T* __restrict w = o.w;
  const T* __restrict mu = o.mu;
  for (int64_t blk = b0; blk < b1; ++blk) {
    const int64_t start = blk * L, len = std::min(L, n - start);
    const S* __restrict x = o.x + start;
    switch (pass) {  // (operands a pass does not use are null: no pointer arithmetic on them)
      case Pass::Moments: {  // sums of d and d^2 for d = x - shift
        double* __restrict second = acc + L;
        for (int64_t j = 0; j < len; ++j) {
          const double d = static_cast<T>(x[j]) - o.shift[j];
          acc[j] += d;
          second[j] += d * d;
        }
        break;
      }
      case Pass::Normalize: {  // y = x * u + v
        S* __restrict out = o.out + start;
        for (int64_t j = 0; j < len; ++j) out[j] = static_cast<S>(static_cast<T>(x[j]) * u[j] + v[j]);
        break;
      }
      case Pass::GradSums: {  // sums of dy and dy * (x - mean)
        const S* __restrict g = o.dy + start;
        double* __restrict second = acc + L;
        for (int64_t j = 0; j < len; ++j) {
          const T gj = static_cast<T>(g[j]);
          acc[j] += gj;
          second[j] += gj * (static_cast<T>(x[j]) - mu[j]);
        }
        break;
      }
      case Pass::GradInput: {  // dx = u * (dy - v - (x - mean) * w)
        const S* __restrict g = o.dy + start;
        S* __restrict out = o.out + start;
        for (int64_t j = 0; j < len; ++j) {
          out[j] = static_cast<S>(u[j] * (static_cast<T>(g[j]) - v[j] - (static_cast<T>(x[j]) - mu[j]) * w[j]));
        }
        break;
      }
      case Pass::ReluBiasGrad: {  // out = dy where x > 0, else 0 (x: relu's output), and its sums
        const S* __restrict g = o.dy + start;
        S* __restrict out = o.out + start;
        // Two loops over the block (in L1 between them): GCC vectorizes the select only where it
        // is the loop's one store (with -ftrapping-math, its default).
        for (int64_t j = 0; j < len; ++j) out[j] = static_cast<T>(x[j]) > T(0) ? g[j] : S(0);
        for (int64_t j = 0; j < len; ++j) acc[j] += static_cast<T>(out[j]);
        break;
      }
    }
  }
}

// One instruction-set-dispatched entry per storage type (LOOM_CPU_CLONES: plain functions only).
LOOM_CPU_CLONES void run_blocks_f32(Pass p, const Operands<float>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) {
  run_blocks(p, o, n, L, b0, b1, acc);
}
LOOM_CPU_CLONES void run_blocks_f64(Pass p, const Operands<double>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) {
  run_blocks(p, o, n, L, b0, b1, acc);
}
LOOM_CPU_CLONES void run_blocks_bf16(Pass p, const Operands<BFloat16>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) {
  run_blocks(p, o, n, L, b0, b1, acc);
}
void run_blocks_of(Pass p, const Operands<float>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) { run_blocks_f32(p, o, n, L, b0, b1, acc); }
void run_blocks_of(Pass p, const Operands<double>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) { run_blocks_f64(p, o, n, L, b0, b1, acc); }
void run_blocks_of(Pass p, const Operands<BFloat16>& o, int64_t n, int64_t L, int64_t b0, int64_t b1, double* acc) { run_blocks_bf16(p, o, n, L, b0, b1, acc); }

// Runs a sum pass over [0, n) split across threads, each into its own per-lane partial sums;
// returns their totals per channel (two groups of C).
template <class S>
std::vector<double> channel_sums(Pass pass, const Operands<S>& o, int64_t n, const Lanes& lanes) {
  const int64_t blocks = (n + lanes.L - 1) / lanes.L;
  const int nt = detail::threads_for(n, kCheapGrain);
  std::vector<std::vector<double>> partial(static_cast<size_t>(std::max(nt, 1)),
                                           std::vector<double>(static_cast<size_t>(2 * lanes.L), 0.0));
  parallel_chunks(nt, nt, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      run_blocks_of(pass, o, n, lanes.L, blocks * t / nt, blocks * (t + 1) / nt, partial[static_cast<size_t>(t)].data());
    }
  });
  std::vector<double> total(static_cast<size_t>(2 * lanes.L), 0.0);
  for (const auto& p : partial) {
    for (size_t j = 0; j < total.size(); ++j) total[j] += p[j];
  }
  return lanes.fold(total, 2);
}

// Runs an elementwise pass over [0, n), split across threads.
template <class S>
void for_blocks(Pass pass, const Operands<S>& o, int64_t n, const Lanes& lanes) {
  const int64_t blocks = (n + lanes.L - 1) / lanes.L;
  parallel_chunks(blocks, detail::threads_for(n, kCheapGrain), [&](int64_t b, int64_t e) {
    run_blocks_of(pass, o, n, lanes.L, b, e, nullptr);
  });
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
    const int64_t n = rows * C;
    const Lanes lanes(std::max<int64_t>(C, 1));
    // One pass for both moments, of x less a shift K per channel (its first value): sums of d and
    // d^2 for d = x - K in double give the variance accurately while K is near the mean (as the
    // two-pass formula does, for a third fewer reads).
    std::vector<double> first(static_cast<size_t>(C), 0.0);
    for (int64_t c = 0; c < C && rows > 0; ++c) first[static_cast<size_t>(c)] = static_cast<T>(xp[c]);
    const std::vector<double> first_lanes = lanes.repeat(first);
    Operands<S> o;
    o.x = xp;
    o.shift = first_lanes.data();
    const std::vector<double> moments = channel_sums(Pass::Moments, o, n, lanes);
    std::vector<double> mean(static_cast<size_t>(C)), var(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const auto k = static_cast<size_t>(c);
      const double shifted_mean = moments[k] * inv_rows;
      mean[k] = first[k] + shifted_mean;
      var[k] = std::max(0.0, moments[static_cast<size_t>(C + c)] * inv_rows - shifted_mean * shifted_mean);
    }
    std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const auto k = static_cast<size_t>(c);
      mean_out[c] = static_cast<S>(static_cast<T>(mean[k]));
      var_out[c] = static_cast<S>(static_cast<T>(var[k]));
      const double s = static_cast<T>(gamma[c]) / std::sqrt(var[k] + eps);
      scale[k] = static_cast<T>(s);
      shift[k] = static_cast<T>(static_cast<T>(beta[c]) - mean[k] * s);
    }
    const std::vector<T> scale_lanes = lanes.repeat(scale), shift_lanes = lanes.repeat(shift);
    o.out = y;
    o.u = scale_lanes.data();
    o.v = shift_lanes.data();
    for_blocks(Pass::Normalize, o, n, lanes);
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
    const int64_t n = rows * C;
    const Lanes lanes(std::max<int64_t>(C, 1));
    const std::vector<T> mean_lanes = lanes.repeat(mean);
    Operands<S> o;
    o.x = xp;
    o.dy = g;
    o.mu = mean_lanes.data();
    const std::vector<double> sums = channel_sums(Pass::GradSums, o, n, lanes);
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
    const std::vector<T> k_lanes = lanes.repeat(k), a_lanes = lanes.repeat(a), b_lanes = lanes.repeat(b);
    o.out = dx;
    o.u = k_lanes.data();
    o.v = a_lanes.data();
    o.w = b_lanes.data();
    for_blocks(Pass::GradInput, o, n, lanes);
  });
}

// (dy, y) -> (dz = dy where y > 0, else 0; dbias = dz summed per channel): one pass where relu's
// gradient and a bias gradient took two (the second re-reading dz from memory).
void relu_bias_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous(), y = call.inputs[1].contiguous();
  const int64_t C = y.shape().back();
  visit_float_or_bf16(y.dtype(), [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    Operands<S> o;
    o.x = static_cast<const S*>(y.data_ptr());
    o.dy = static_cast<const S*>(dy.data_ptr());
    o.out = static_cast<S*>(out[0].data_ptr());
    const std::vector<double> sums = channel_sums(Pass::ReluBiasGrad, o, y.numel(), Lanes(std::max<int64_t>(C, 1)));
    S* dbias = static_cast<S*>(out[1].data_ptr());
    for (int64_t c = 0; c < C; ++c) dbias[c] = static_cast<S>(static_cast<T>(sums[static_cast<size_t>(c)]));
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_norm) {
  const DTypeMask types = kFloatTypes | mask_of({DType::BFloat16});
  register_kernel("batch_norm", DeviceType::CPU, batch_norm_kernel, types);
  register_kernel("batch_norm_grad", DeviceType::CPU, batch_norm_grad_kernel, types);
  register_kernel("relu_bias_grad", DeviceType::CPU, relu_bias_grad_kernel, types);
}

}  // namespace loom::cpu
