// Fused optimizer updates on the CPU: one pass over the variable, its slots and its gradient.
#include <cmath>
#include <type_traits>

#include "cpu/loops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

template <class T>
struct AdamStep {
  T keep_m, keep_v, alpha, epsilon, decay;  // 1 - beta_1, 1 - beta_2, ...
  bool decays;
};

// The composite's operations in its order (reference_adam_update), element by element.
template <class T>
inline void adam_range(const AdamStep<T>& s, const T* __restrict w, const T* __restrict m, const T* __restrict v,
                       const T* __restrict g, T* __restrict w_out, T* __restrict m_out, T* __restrict v_out,
                       int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const T m_new = m[i] + (g[i] - m[i]) * s.keep_m;
    const T v_new = v[i] + (g[i] * g[i] - v[i]) * s.keep_v;
    const T decayed = s.decays ? w[i] - w[i] * s.decay : w[i];
    w_out[i] = decayed - m_new * s.alpha / (std::sqrt(v_new) + s.epsilon);
    m_out[i] = m_new;
    v_out[i] = v_new;
  }
}
LOOM_CPU_CLONES void adam_f32(const AdamStep<float>& s, const float* w, const float* m, const float* v, const float* g,
                              float* w_out, float* m_out, float* v_out, int64_t b, int64_t e) {
  adam_range(s, w, m, v, g, w_out, m_out, v_out, b, e);
}
LOOM_CPU_CLONES void adam_f64(const AdamStep<double>& s, const double* w, const double* m, const double* v,
                              const double* g, double* w_out, double* m_out, double* v_out, int64_t b, int64_t e) {
  adam_range(s, w, m, v, g, w_out, m_out, v_out, b, e);
}

void adam_update_kernel(const OpCall& call, std::vector<Tensor>& out) {
  std::vector<Tensor> in;
  for (const Tensor& t : call.inputs) in.push_back(t.contiguous());
  const auto attr = [&](const char* name) { return call.attrs.get_float(name, call.name()); };
  const int64_t n = in[0].numel();
  visit_float(in[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const AdamStep<T> s{static_cast<T>(1 - attr("beta_1")), static_cast<T>(1 - attr("beta_2")), static_cast<T>(attr("alpha")),
                        static_cast<T>(attr("epsilon")), static_cast<T>(attr("decay")), attr("decay") > 0};
    const auto p = [&](const Tensor& t) { return static_cast<const T*>(t.data_ptr()); };
    const auto q = [&](Tensor& t) { return static_cast<T*>(t.data_ptr()); };
    parallel_chunks(n, detail::threads_for(n, kCheapGrain), [&](int64_t b, int64_t e) {
      if constexpr (std::is_same_v<T, float>) adam_f32(s, p(in[0]), p(in[1]), p(in[2]), p(in[3]), q(out[0]), q(out[1]), q(out[2]), b, e);
      else adam_f64(s, p(in[0]), p(in[1]), p(in[2]), p(in[3]), q(out[0]), q(out[1]), q(out[2]), b, e);
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_optimizer) {
  register_kernel("adam_update", DeviceType::CPU, adam_update_kernel, kFloatTypes);
}

}  // namespace loom::cpu
