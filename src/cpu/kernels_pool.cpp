// Pooling on the CPU, NHWC: the channel axis is innermost, so every window step is a
// contiguous, vectorisable row of C values.
#include <limits>

#include "cpu/loops.hpp"
#include "loom/backend/geometry.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

ops::Window2D window_of(const OpCall& call, const Shape& x) { return ops::pool_window_2d(x, call.attrs, call.name()); }

// Calls f(n, oh, ow, h0, h1, w0, w1) for every output pixel with its clipped window, images and
// rows split across threads.
template <class F>
void for_each_window(const Shape& x, const ops::Window2D& w, int64_t work_per_pixel, F&& f) {
  const int64_t rows = x[0] * w.out_h;
  parallel_chunks(rows, detail::threads_for(rows * w.out_w * work_per_pixel, kCheapGrain), [&](int64_t b, int64_t e) {
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
  });
}

void max_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const Shape& s = x.shape();
  const auto w = window_of(call, s);
  const int64_t H = s[1], W = s[2], C = s[3];
  auto* idx = static_cast<int64_t*>(out[1].data_ptr());
  visit_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(out[0].data_ptr());
    for_each_window(s, w, w.k_h * w.k_w * C, [&](int64_t n, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const int64_t o = ((n * w.out_h + oh) * w.out_w + ow) * C;
      T* y = yp + o;
      int64_t* best = idx + o;
      for (int64_t c = 0; c < C; ++c) {
        y[c] = -std::numeric_limits<T>::infinity();
        best[c] = ((n * H + h0) * W + w0) * C + c;
      }
      for (int64_t h = h0; h < h1; ++h) {
        for (int64_t ww = w0; ww < w1; ++ww) {
          const int64_t base = ((n * H + h) * W + ww) * C;
          const T* row = xp + base;
          for (int64_t c = 0; c < C; ++c) {
            const bool better = row[c] > y[c];
            y[c] = better ? row[c] : y[c];
            best[c] = better ? base + c : best[c];
          }
        }
      }
    });
  });
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
  register_kernel("max_pool2d", DeviceType::CPU, max_pool_kernel, kFloatTypes);
  register_kernel("max_pool2d_grad", DeviceType::CPU, max_pool_grad_kernel, kFloatTypes);
  register_kernel("avg_pool2d", DeviceType::CPU, avg_pool_kernel, kFloatTypes);
  register_kernel("avg_pool2d_grad", DeviceType::CPU, avg_pool_grad_kernel, kFloatTypes);
}

}  // namespace loom::cpu
