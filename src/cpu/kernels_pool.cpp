// Pooling on the CPU, NHWC: the channel axis is innermost, so every window step is a
// contiguous, vectorisable row of C values.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "cpu/kernels_pool.hpp"
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

// Max pooling in two passes per output row, each a flat vectorized loop whatever the channel
// count (per-pixel loops over LeNet's 6 channels were most of its pooling time): (1) down the
// window's input rows, the maximum of each (column, channel) of the row and the first input row
// holding it; (2) for each output (column, channel), the maximum over the window's columns, read
// through a table of their offsets in the row made once (a column clipped by padding repeats a
// valid one, which changes nothing). A maximum's key is its flat index in the image, and ties go
// to the smaller key: the first maximum in the window's row-major order, as one scan would pick.
// NaN never wins a comparison (as before): a window of NaNs gives -inf at its first element.
// bfloat16 (S) compares as float (T): the maximum is one of the inputs, so it is exact.
// Key is int32_t where float keys fit (as wide as T: the selects vectorize, gathers included).
template <class S, class Key>
struct MaxPoolRows {
  using T = compute_t<S>;
  Key WC;
  int64_t out_row, k_w;
  std::vector<T> column_max, best;  // [W * C], [out_w * C]
  std::vector<Key> column_row, key;  // [W * C], [out_w * C]
  std::vector<Key> source;           // [k_w][out_w * C]: offset in the row of each window column

  MaxPoolRows(const Shape& s, const ops::Window2D& w)
      : WC(static_cast<Key>(s[2] * s[3])), out_row(w.out_w * s[3]), k_w(w.k_w), column_max(static_cast<size_t>(WC)),
        best(static_cast<size_t>(out_row)), column_row(static_cast<size_t>(WC)), key(static_cast<size_t>(out_row)),
        source(static_cast<size_t>(k_w * out_row)) {
    const int64_t W = s[2], C = s[3];
    for (int64_t kw = 0; kw < k_w; ++kw) {
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        const int64_t first = std::max<int64_t>(ow * w.stride_w - w.pad_left, 0);
        const int64_t col = std::clamp<int64_t>(ow * w.stride_w - w.pad_left + kw, first, W - 1);
        for (int64_t c = 0; c < C; ++c) source[static_cast<size_t>(kw * out_row + ow * C + c)] = static_cast<Key>(col * C + c);
      }
    }
  }

  void down(const S* image, int64_t h0, int64_t h1) {
    T* __restrict m = column_max.data();
    Key* __restrict at = column_row.data();
    for (Key j = 0; j < WC; ++j) {
      m[j] = -std::numeric_limits<T>::infinity();
      at[j] = static_cast<Key>(h0);
    }
    for (int64_t h = h0; h < h1; ++h) {
      const S* __restrict row = image + h * WC;
      const Key hr = static_cast<Key>(h);
      for (Key j = 0; j < WC; ++j) {
        const T v = static_cast<T>(row[j]);
        const Key take = -static_cast<Key>(v > m[j]);  // a mask, not a branch
        m[j] = v > m[j] ? v : m[j];
        at[j] = (hr & take) | (at[j] & ~take);
      }
    }
  }

  // A key is (row * W + column) * C + c = row * WC + offset.
  void across(int64_t image_offset, S* __restrict y, int64_t* __restrict index) {
    const T* __restrict m = column_max.data();
    const Key* __restrict at = column_row.data();
    T* __restrict top = best.data();
    Key* __restrict held = key.data();
    for (int64_t j = 0; j < out_row; ++j) {
      const Key o = source[static_cast<size_t>(j)];
      top[j] = m[o];
      held[j] = at[o] * WC + o;
    }
    for (int64_t kw = 1; kw < k_w; ++kw) {
      const Key* __restrict src = source.data() + kw * out_row;
      for (int64_t j = 0; j < out_row; ++j) {
        const Key o = src[j];
        const T v = m[o], t = top[j];
        const Key k = at[o] * WC + o, h = held[j];
        // Masks, not branches: random data mispredicts every other comparison.
        const Key take = -static_cast<Key>((v > t) | ((v == t) & (k < h)));
        top[j] = v > t ? v : t;
        held[j] = (k & take) | (h & ~take);
      }
    }
    for (int64_t j = 0; j < out_row; ++j) {
      y[j] = static_cast<S>(top[j]);
      index[j] = image_offset + held[j];
    }
  }
};

// 2x2 windows at stride 2 that all lie inside the input (LeNet's and VGG's pooling), three flat
// passes per output row, each vectorized whatever the channel count C: (1) the maximum of each
// (column, channel) over the window's two rows; (2) the maximum of each such value and the one C
// further on (one column right), for every column, though only even ones are kept; (3) copy out
// the even columns. Ties go to the first in row-major order, as in MaxPoolRows: the right column
// wins a tie only from the top row over the left's bottom row. NaN never wins: a window of NaNs
// gives -inf at its first element.
inline bool is_whole_2x2_stride_2(const Shape& s, const ops::Window2D& w) {
  return w.k_h == 2 && w.k_w == 2 && w.stride_h == 2 && w.stride_w == 2 && w.pad_top == 0 && w.pad_left == 0 &&
         2 * w.out_h <= s[1] && 2 * w.out_w <= s[2] && s[1] * s[2] * s[3] <= std::numeric_limits<int32_t>::max();
}
template <class S>
struct MaxPool2x2Rows {
  using T = compute_t<S>;
  int64_t H, C, WC, out_row;
  std::vector<T> column_max, pair_max;    // [W * C]
  std::vector<int32_t> below, pair_key;  // [W * C]: offset of each maximum from the window's top-left row start

  MaxPool2x2Rows(const Shape& s, const ops::Window2D& w)
      : H(s[1]), C(s[3]), WC(s[2] * s[3]), out_row(w.out_w * s[3]), column_max(static_cast<size_t>(WC)),
        pair_max(static_cast<size_t>(WC)), below(static_cast<size_t>(WC)), pair_key(static_cast<size_t>(WC)) {}

  void row(const S* __restrict r0, int64_t top, S* __restrict y, int64_t* __restrict key) {
    const S* __restrict r1 = r0 + WC;
    T* __restrict m = column_max.data();
    int32_t* __restrict at = below.data();
    const int32_t wc = static_cast<int32_t>(WC);
    for (int32_t j = 0; j < wc; ++j) {
      const T v0 = static_cast<T>(r0[j]), v1 = static_cast<T>(r1[j]);
      const T first = v0 > -std::numeric_limits<T>::infinity() ? v0 : -std::numeric_limits<T>::infinity();
      m[j] = v1 > first ? v1 : first;
      at[j] = v1 > first ? j + wc : j;
    }
    T* __restrict pm = pair_max.data();
    int32_t* __restrict pk = pair_key.data();
    const int32_t c = static_cast<int32_t>(C), pairs = wc - c;
    for (int32_t j = 0; j < pairs; ++j) {
      const bool right = (m[j + c] > m[j]) | ((m[j + c] == m[j]) & (at[j + c] < at[j]));
      pm[j] = right ? m[j + c] : m[j];
      pk[j] = right ? at[j + c] : at[j];
    }
    for (int64_t o = 0, from = 0; o < out_row; o += C, from += 2 * C) {
      for (int64_t i = 0; i < C; ++i) {
        y[o + i] = static_cast<S>(pm[from + i]);
        key[o + i] = top + pk[from + i];
      }
    }
  }
};
template <class S>
inline void max_pool_2x2_rows(const S* xp, const Shape& s, const ops::Window2D& w, S* yp, int64_t* idx, int64_t b, int64_t e) {
  MaxPool2x2Rows<S> rows(s, w);
  for (int64_t r = b; r < e; ++r) {
    const int64_t top = (r / w.out_h * rows.H + 2 * (r % w.out_h)) * rows.WC;
    rows.row(xp + top, top, yp + r * rows.out_row, idx + r * rows.out_row);
  }
}

// Output rows [b, e) (a row: one image's one output row).
template <class S, class Key>
inline void max_pool_rows_keyed(const S* xp, const Shape& s, const ops::Window2D& w, S* yp, int64_t* idx, int64_t b, int64_t e) {
  const int64_t H = s[1];
  MaxPoolRows<S, Key> rows(s, w);
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / w.out_h, oh = r % w.out_h;
    const int64_t h0 = std::max<int64_t>(oh * w.stride_h - w.pad_top, 0);
    const int64_t h1 = std::min<int64_t>(oh * w.stride_h - w.pad_top + w.k_h, H);
    rows.down(xp + n * H * rows.WC, h0, h1);
    rows.across(n * H * rows.WC, yp + r * rows.out_row, idx + r * rows.out_row);
  }
}
template <class S>
inline void max_pool_rows(const S* xp, const Shape& s, const ops::Window2D& w, S* yp, int64_t* idx, int64_t b, int64_t e) {
  if (is_whole_2x2_stride_2(s, w)) return max_pool_2x2_rows(xp, s, w, yp, idx, b, e);
  const bool narrow_keys = sizeof(compute_t<S>) == 4 && s[1] * s[2] * s[3] <= std::numeric_limits<int32_t>::max();
  if (narrow_keys) max_pool_rows_keyed<S, int32_t>(xp, s, w, yp, idx, b, e);
  else max_pool_rows_keyed<S, int64_t>(xp, s, w, yp, idx, b, e);
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
  max_pool_into(call.inputs[0], window_of(call, call.inputs[0].shape()), out[0], out[1]);
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
    // Each image's maxima lie in that image: images are independent. Zeroing one image just
    // before its scatter keeps its gradient in cache for it (one pass over memory, not two).
    parallel_chunks(in[0], detail::threads_for(out[0].numel(), kCheapGrain), [&](int64_t b, int64_t e) {
      const int64_t per_image_in = in[1] * in[2] * in[3];
      for (int64_t n = b; n < e; ++n) {
        std::fill(dx + n * per_image_in, dx + (n + 1) * per_image_in, T(0));
        for (int64_t i = n * per_image_out; i < (n + 1) * per_image_out; ++i) dx[idx[i]] += g[i];
      }
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

void max_pool_into(const Tensor& x_in, const ops::Window2D& w, const Tensor& y, const Tensor& argmax) {
  const Tensor x = x_in.contiguous();
  const Shape& s = x.shape();
  auto* idx = static_cast<int64_t*>(argmax.data_ptr());
  const int64_t rows = s[0] * w.out_h;
  const auto run = [&](auto rows_kernel, auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    parallel_chunks(rows, detail::threads_for(rows * w.out_w * w.k_h * w.k_w * s[3], kCheapGrain),
                    [&](int64_t b, int64_t e) { rows_kernel(xp, s, w, yp, idx, b, e); });
  };
  if (x.dtype() == DType::BFloat16) run(max_pool_rows_bf16, BFloat16{});
  else if (x.dtype() == DType::Float32) run(max_pool_rows_f32, float{});
  else run(max_pool_rows_f64, double{});
}

bool max_pool_is_whole_2x2_stride_2(const Shape& x, const ops::Window2D& w) { return is_whole_2x2_stride_2(x, w); }

LOOM_CPU_CLONES void max_pool_2x2_image(const float* image, const Shape& x, const ops::Window2D& w, int64_t n, float* y,
                                        int64_t* argmax) {
  MaxPool2x2Rows<float> rows(x, w);
  for (int64_t oh = 0; oh < w.out_h; ++oh) {
    const int64_t r = n * w.out_h + oh;
    rows.row(image + 2 * oh * rows.WC, (n * rows.H + 2 * oh) * rows.WC, y + r * rows.out_row, argmax + r * rows.out_row);
  }
}

LOOM_REGISTER_KERNELS(cpu_pool) {
  register_kernel("max_pool2d", DeviceType::CPU, max_pool_kernel, kFloatTypes | mask_of({DType::BFloat16}));
  register_kernel("max_pool2d_grad", DeviceType::CPU, max_pool_grad_kernel, kFloatTypes);
  register_kernel("avg_pool2d", DeviceType::CPU, avg_pool_kernel, kFloatTypes);
  register_kernel("avg_pool2d_grad", DeviceType::CPU, avg_pool_grad_kernel, kFloatTypes);
}

}  // namespace loom::cpu
