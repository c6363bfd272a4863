// Pooling on the CPU, NHWC: the channel axis is innermost, so every window step is a
// contiguous, vectorisable row of C values.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "cpu/loops.hpp"
#include "loom/backend/geometry.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

ops::Window2D window_of(const OpCall& call, const Shape& x) { return ops::pool_window_2d(x, call.attrs, call.name()); }

// Calls f(n, oh, ow, h0, h1, w0, w1) for every output pixel of output rows [b, e) (a row: one
// image's one output row) with its clipped window.
template <class F>
inline void for_each_window_in_rows(const ops::Window2D& w, int64_t b, int64_t e, F&& f) {
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / w.out_h, oh = r % w.out_h;
    const int64_t h0 = std::max<int64_t>(oh * w.stride_h - w.pad_top, 0);
    const int64_t h1 = std::min<int64_t>(oh * w.stride_h - w.pad_top + w.k_h, w.in_h);
    for (int64_t ow = 0; ow < w.out_w; ++ow) {
      const int64_t w0 = std::max<int64_t>(ow * w.stride_w - w.pad_left, 0);
      const int64_t w1 = std::min<int64_t>(ow * w.stride_w - w.pad_left + w.k_w, w.in_w);
      f(n, oh, ow, h0, h1, w0, w1);
    }
  }
}

// The same over all output rows, split across threads.
template <class F>
void for_each_window(const Shape& x, const ops::Window2D& w, int64_t work_per_pixel, F&& f) {
  const int64_t rows = x[0] * w.out_h;
  parallel_chunks(rows, detail::threads_for(rows * w.out_w * work_per_pixel, kCheapGrain),
                  [&](int64_t b, int64_t e) { for_each_window_in_rows(w, b, e, f); });
}

// Each output pixel's maxima and window positions are kept in small local arrays, one block of
// channels at a time, so that the compiler keeps them in registers and vectorizes across the
// channels: the position is an integer as wide as T, so the select is one mask for both (an
// int64 index beside a float, or stores into the outputs, made it a branch per element).
// NaN never wins a comparison (as before): a window of NaNs gives -inf at its first element.
template <class T, class Position>
inline void keep_larger(T v, Position k, T& m, Position& at) {
  const Position take = -static_cast<Position>(v > m);  // all ones or zero
  m = v > m ? v : m;
  at = (k & take) | (at & ~take);
}

// `offset` is scratch for one entry per window position: the position's input offset from the
// window's first element.
// bfloat16 (S) compares as float (T): the maximum is one of the inputs, so it is exact.
template <class S>
void max_pool_pixel(const S* xp, int64_t H, int64_t W, int64_t C, int64_t n, int64_t h0, int64_t h1, int64_t w0,
                    int64_t w1, S* y, int64_t* best, int64_t* offset) {
  using T = compute_t<S>;
  using Position = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  constexpr int64_t kBlock = 16;
  int64_t* next = offset;
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t ww = w0; ww < w1; ++ww) *next++ = ((h - h0) * W + (ww - w0)) * C;
  }
  const int64_t first = ((n * H + h0) * W + w0) * C;
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t cn = std::min(kBlock, C - c0);
    T m[kBlock];
    Position at[kBlock];
    for (int64_t c = 0; c < kBlock; ++c) {
      m[c] = -std::numeric_limits<T>::infinity();
      at[c] = 0;
    }
    Position k = 0;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t ww = w0; ww < w1; ++ww, ++k) {
        const S* row = xp + ((n * H + h) * W + ww) * C + c0;
        if (cn == kBlock) {
          for (int64_t c = 0; c < kBlock; ++c) keep_larger(static_cast<T>(row[c]), k, m[c], at[c]);
        } else {
          for (int64_t c = 0; c < cn; ++c) keep_larger(static_cast<T>(row[c]), k, m[c], at[c]);
        }
      }
    }
    for (int64_t c = 0; c < cn; ++c) {
      y[c0 + c] = static_cast<S>(m[c]);
      best[c0 + c] = first + offset[at[c]] + c0 + c;
    }
  }
}

template <class T>
inline void max_pool_rows(const T* xp, const Shape& s, const ops::Window2D& w, T* yp, int64_t* idx, int64_t b, int64_t e) {
  const int64_t H = s[1], W = s[2], C = s[3];
  std::vector<int64_t> offset(static_cast<size_t>(w.k_h * w.k_w));
  for_each_window_in_rows(w, b, e, [&](int64_t n, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
    const int64_t o = ((n * w.out_h + oh) * w.out_w + ow) * C;
    max_pool_pixel(xp, H, W, C, n, h0, h1, w0, w1, yp + o, idx + o, offset.data());
  });
}
LOOM_CPU_CLONES void max_pool_rows_f32(const float* xp, const Shape& s, const ops::Window2D& w, float* yp, int64_t* idx,
                                       int64_t b, int64_t e) {
  max_pool_rows(xp, s, w, yp, idx, b, e);
}
LOOM_CPU_CLONES void max_pool_rows_bf16(const BFloat16* xp, const Shape& s, const ops::Window2D& w, BFloat16* yp,
                                        int64_t* idx, int64_t b, int64_t e) {
  max_pool_rows(xp, s, w, yp, idx, b, e);
}
LOOM_CPU_CLONES void max_pool_rows_f64(const double* xp, const Shape& s, const ops::Window2D& w, double* yp,
                                       int64_t* idx, int64_t b, int64_t e) {
  max_pool_rows(xp, s, w, yp, idx, b, e);
}

void max_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const Shape& s = x.shape();
  const auto w = window_of(call, s);
  auto* idx = static_cast<int64_t*>(out[1].data_ptr());
  const int64_t rows = s[0] * w.out_h;
  const auto run = [&](auto rows_kernel, auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(out[0].data_ptr());
    parallel_chunks(rows, detail::threads_for(rows * w.out_w * w.k_h * w.k_w * s[3], kCheapGrain),
                    [&](int64_t b, int64_t e) { rows_kernel(xp, s, w, yp, idx, b, e); });
  };
  if (x.dtype() == DType::BFloat16) run(max_pool_rows_bf16, BFloat16{});
  else if (x.dtype() == DType::Float32) run(max_pool_rows_f32, float{});
  else run(max_pool_rows_f64, double{});
}

void max_pool_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous(), argmax = call.inputs[1].contiguous();
  const Shape& in = out[0].shape();
  const int64_t per_image_out = dy.numel() / std::max<int64_t>(in[0], 1);
  const auto* idx = static_cast<const int64_t*>(argmax.data_ptr());
  visit_float(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(dy.data_ptr());
    T* dx = static_cast<T*>(out[0].data_ptr());
    // Each image's maxima lie in that image: images are independent.
    parallel_chunks(in[0], detail::threads_for(out[0].numel(), kCheapGrain), [&](int64_t b, int64_t e) {
      const int64_t per_image_in = in[1] * in[2] * in[3];
      std::fill(dx + b * per_image_in, dx + e * per_image_in, T(0));
      for (int64_t i = b * per_image_out; i < e * per_image_out; ++i) dx[idx[i]] += g[i];
    });
  });
}

void avg_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const Shape& s = x.shape();
  const auto w = window_of(call, s);
  const int64_t H = s[1], W = s[2], C = s[3];
  visit_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(out[0].data_ptr());
    for_each_window(s, w, w.k_h * w.k_w * C, [&](int64_t n, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      T* y = yp + ((n * w.out_h + oh) * w.out_w + ow) * C;
      std::fill(y, y + C, T(0));
      for (int64_t h = h0; h < h1; ++h) {
        for (int64_t ww = w0; ww < w1; ++ww) {
          const T* row = xp + ((n * H + h) * W + ww) * C;
          for (int64_t c = 0; c < C; ++c) y[c] += row[c];
        }
      }
      const T scale = T(1) / static_cast<T>((h1 - h0) * (w1 - w0));
      for (int64_t c = 0; c < C; ++c) y[c] *= scale;
    });
  });
}

void avg_pool_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous();
  const Shape& s = out[0].shape();
  const auto w = window_of(call, s);
  const int64_t H = s[1], W = s[2], C = s[3];
  visit_float(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(dy.data_ptr());
    T* dx = static_cast<T*>(out[0].data_ptr());
    // Windows of one image overlap only within that image: one thread per image range.
    parallel_chunks(s[0], detail::threads_for(out[0].numel() * w.k_h * w.k_w, kCheapGrain), [&](int64_t b, int64_t e) {
      std::fill(dx + b * H * W * C, dx + e * H * W * C, T(0));
      for (int64_t n = b; n < e; ++n) {
        for (int64_t oh = 0; oh < w.out_h; ++oh) {
          const int64_t h0 = std::max<int64_t>(oh * w.stride_h - w.pad_top, 0);
          const int64_t h1 = std::min<int64_t>(oh * w.stride_h - w.pad_top + w.k_h, H);
          for (int64_t ow = 0; ow < w.out_w; ++ow) {
            const int64_t w0 = std::max<int64_t>(ow * w.stride_w - w.pad_left, 0);
            const int64_t w1 = std::min<int64_t>(ow * w.stride_w - w.pad_left + w.k_w, W);
            const T* gy = g + ((n * w.out_h + oh) * w.out_w + ow) * C;
            const T scale = T(1) / static_cast<T>((h1 - h0) * (w1 - w0));
            for (int64_t h = h0; h < h1; ++h) {
              for (int64_t ww = w0; ww < w1; ++ww) {
                T* d = dx + ((n * H + h) * W + ww) * C;
                for (int64_t c = 0; c < C; ++c) d[c] += gy[c] * scale;
              }
            }
          }
        }
      }
    });
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_pool) {
  register_kernel("max_pool2d", DeviceType::CPU, max_pool_kernel, kFloatTypes | mask_of({DType::BFloat16}));
  register_kernel("max_pool2d_grad", DeviceType::CPU, max_pool_grad_kernel, kFloatTypes);
  register_kernel("avg_pool2d", DeviceType::CPU, avg_pool_kernel, kFloatTypes);
  register_kernel("avg_pool2d_grad", DeviceType::CPU, avg_pool_grad_kernel, kFloatTypes);
}

}  // namespace loom::cpu
