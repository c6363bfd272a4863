// conv2d and its backward ops on the CPU: oneDNN (blocked layouts chosen by oneDNN, Winograd
// where it is faster) for float32 and bfloat16, plain loops for float64 and whatever oneDNN
// declines (bfloat16 then runs widened to float32).
#include <cblas.h>

#include "cpu/kernels_conv_one_channel.hpp"
#include "cpu/loops.hpp"
#include "cpu/onednn/onednn.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"
#include "loom/backend/geometry.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// ---------------------------------------------------------------- reference loops

template <class T>
void reference_forward(const ops::Conv2DGeometry& g, const T* x, const T* f, const T* bias, T* y) {
  parallel_chunks(g.n * g.win.out_h, detail::threads_for(g.n * g.win.out_h * g.win.out_w * g.c_out * g.win.k_h * g.win.k_w * g.group_in(), kExpensiveGrain),
                  [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t n = row / g.win.out_h, oh = row % g.win.out_h;
      for (int64_t ow = 0; ow < g.win.out_w; ++ow) {
        for (int64_t o = 0; o < g.c_out; ++o) {
          const int64_t grp = o / g.group_out();
          T acc = bias ? bias[o] : T(0);
          for (int64_t kh = 0; kh < g.win.k_h; ++kh) {
            const int64_t ih = oh * g.win.stride_h - g.win.pad_top + kh * g.win.dil_h;
            if (ih < 0 || ih >= g.win.in_h) continue;
            for (int64_t kw = 0; kw < g.win.k_w; ++kw) {
              const int64_t iw = ow * g.win.stride_w - g.win.pad_left + kw * g.win.dil_w;
              if (iw < 0 || iw >= g.win.in_w) continue;
              for (int64_t i = 0; i < g.group_in(); ++i) acc += x[g.x_at(n, ih, iw, grp * g.group_in() + i)] * f[g.f_at(kh, kw, i, o)];
            }
          }
          y[g.y_at(n, oh, ow, o)] = acc;
        }
      }
    }
  });
}

template <class T>
void reference_backprop_input(const ops::Conv2DGeometry& g, const T* dy, const T* f, T* dx) {
  std::fill(dx, dx + g.n * g.win.in_h * g.win.in_w * g.c_in, T(0));
  parallel_chunks(g.n, detail::threads_for(g.n * g.win.out_h * g.win.out_w * g.c_out * g.win.k_h * g.win.k_w * g.group_in(), kExpensiveGrain),
                  [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      for (int64_t oh = 0; oh < g.win.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.win.out_w; ++ow) {
          for (int64_t o = 0; o < g.c_out; ++o) {
            const T d = dy[g.y_at(n, oh, ow, o)];
            const int64_t grp = o / g.group_out();
            for (int64_t kh = 0; kh < g.win.k_h; ++kh) {
              const int64_t ih = oh * g.win.stride_h - g.win.pad_top + kh * g.win.dil_h;
              if (ih < 0 || ih >= g.win.in_h) continue;
              for (int64_t kw = 0; kw < g.win.k_w; ++kw) {
                const int64_t iw = ow * g.win.stride_w - g.win.pad_left + kw * g.win.dil_w;
                if (iw < 0 || iw >= g.win.in_w) continue;
                for (int64_t i = 0; i < g.group_in(); ++i) dx[g.x_at(n, ih, iw, grp * g.group_in() + i)] += d * f[g.f_at(kh, kw, i, o)];
              }
            }
          }
        }
      }
    }
  });
}

template <class T>
void reference_backprop_filter(const ops::Conv2DGeometry& g, const T* x, const T* dy, T* df) {
  parallel_chunks(g.win.k_h * g.win.k_w, detail::threads_for(g.n * g.win.out_h * g.win.out_w * g.c_out * g.win.k_h * g.win.k_w * g.group_in(), kExpensiveGrain),
                  [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t kh = k / g.win.k_w, kw = k % g.win.k_w;
      for (int64_t i = 0; i < g.group_in(); ++i) {
        for (int64_t o = 0; o < g.c_out; ++o) df[g.f_at(kh, kw, i, o)] = T(0);
      }
      for (int64_t n = 0; n < g.n; ++n) {
        for (int64_t oh = 0; oh < g.win.out_h; ++oh) {
          const int64_t ih = oh * g.win.stride_h - g.win.pad_top + kh * g.win.dil_h;
          if (ih < 0 || ih >= g.win.in_h) continue;
          for (int64_t ow = 0; ow < g.win.out_w; ++ow) {
            const int64_t iw = ow * g.win.stride_w - g.win.pad_left + kw * g.win.dil_w;
            if (iw < 0 || iw >= g.win.in_w) continue;
            for (int64_t o = 0; o < g.c_out; ++o) {
              const T d = dy[g.y_at(n, oh, ow, o)];
              const int64_t grp = o / g.group_out();
              for (int64_t i = 0; i < g.group_in(); ++i) df[g.f_at(kh, kw, i, o)] += x[g.x_at(n, ih, iw, grp * g.group_in() + i)] * d;
            }
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------- im2col + GEMM (groups == 1)
// NHWC makes this natural: the patch of output pixel (n, oh, ow) is a row of KH*KW*C values and
// the HWIO filter is already the (KH*KW*C) x O matrix, so y = cols @ filter. Used for float64
// and for what oneDNN declines.
constexpr int64_t kRowsPerChunk = 2048;  // output pixels per GEMM: bounds the patch buffer

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
          T beta, T* c, int64_t ldc) {
  const auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                static_cast<int>(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, TA, TB, M, N, K, 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                static_cast<int>(ldc));
  }
}

// Patches of output pixels [row0, row0 + rows) into cols (rows x KH*KW*C).
template <class T>
void im2col(const ops::Conv2DGeometry& g, const T* x, int64_t row0, int64_t rows, T* cols) {
  const int64_t patch = g.win.k_h * g.win.k_w * g.c_in;
  parallel_chunks(rows, detail::threads_for(rows * patch, kCheapGrain), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t pix = row0 + r, n = pix / (g.win.out_h * g.win.out_w), oh = pix / g.win.out_w % g.win.out_h, ow = pix % g.win.out_w;
      T* dst = cols + r * patch;
      for (int64_t kh = 0; kh < g.win.k_h; ++kh) {
        const int64_t ih = oh * g.win.stride_h - g.win.pad_top + kh * g.win.dil_h;
        for (int64_t kw = 0; kw < g.win.k_w; ++kw, dst += g.c_in) {
          const int64_t iw = ow * g.win.stride_w - g.win.pad_left + kw * g.win.dil_w;
          if (ih < 0 || ih >= g.win.in_h || iw < 0 || iw >= g.win.in_w) {
            std::fill(dst, dst + g.c_in, T(0));
          } else {
            std::copy_n(x + g.x_at(n, ih, iw, 0), g.c_in, dst);
          }
        }
      }
    }
  });
}

// Adds patch gradients back into dx (the adjoint of im2col). Rows of one image only touch that
// image, so images are split across threads.
template <class T>
void col2im(const ops::Conv2DGeometry& g, const T* cols, int64_t row0, int64_t rows, T* dx) {
  const int64_t patch = g.win.k_h * g.win.k_w * g.c_in, per_image = g.win.out_h * g.win.out_w;
  const int64_t n0 = row0 / per_image, n1 = (row0 + rows - 1) / per_image + 1;
  parallel_chunks(n1 - n0, detail::threads_for(rows * patch, kCheapGrain), [&](int64_t b, int64_t e) {
    for (int64_t n = n0 + b; n < n0 + e; ++n) {
      const int64_t first = std::max(row0, n * per_image), last = std::min(row0 + rows, (n + 1) * per_image);
      for (int64_t pix = first; pix < last; ++pix) {
        const int64_t oh = pix / g.win.out_w % g.win.out_h, ow = pix % g.win.out_w;
        const T* src = cols + (pix - row0) * patch;
        for (int64_t kh = 0; kh < g.win.k_h; ++kh) {
          const int64_t ih = oh * g.win.stride_h - g.win.pad_top + kh * g.win.dil_h;
          for (int64_t kw = 0; kw < g.win.k_w; ++kw, src += g.c_in) {
            const int64_t iw = ow * g.win.stride_w - g.win.pad_left + kw * g.win.dil_w;
            if (ih < 0 || ih >= g.win.in_h || iw < 0 || iw >= g.win.in_w) continue;
            T* d = dx + g.x_at(n, ih, iw, 0);
            for (int64_t c = 0; c < g.c_in; ++c) d[c] += src[c];
          }
        }
      }
    }
  });
}

template <class T>
Tensor patch_buffer(const ops::Conv2DGeometry& g) {
  const int64_t rows = std::min(kRowsPerChunk, g.n * g.win.out_h * g.win.out_w);
  return empty({rows * g.win.k_h * g.win.k_w * g.c_in}, dtype_v<T>, Device::cpu(), "conv2d");
}

template <class T>
void gemm_forward(const ops::Conv2DGeometry& g, const T* x, const T* f, const T* bias, T* y) {
  const Tensor buffer = patch_buffer<T>(g);
  T* cols = static_cast<T*>(buffer.data_ptr());
  const int64_t total = g.n * g.win.out_h * g.win.out_w, patch = g.win.k_h * g.win.k_w * g.c_in;
  for (int64_t row0 = 0; row0 < total; row0 += kRowsPerChunk) {
    const int64_t rows = std::min(kRowsPerChunk, total - row0);
    im2col(g, x, row0, rows, cols);
    gemm<T>(false, false, rows, g.c_out, patch, cols, patch, f, g.c_out, T(0), y + row0 * g.c_out, g.c_out);
  }
  if (bias) {
    for (int64_t r = 0; r < total; ++r) {
      for (int64_t o = 0; o < g.c_out; ++o) y[r * g.c_out + o] += bias[o];
    }
  }
}

template <class T>
void gemm_backprop_input(const ops::Conv2DGeometry& g, const T* dy, const T* f, T* dx) {
  const Tensor buffer = patch_buffer<T>(g);
  T* cols = static_cast<T*>(buffer.data_ptr());
  const int64_t total = g.n * g.win.out_h * g.win.out_w, patch = g.win.k_h * g.win.k_w * g.c_in;
  std::fill(dx, dx + g.n * g.win.in_h * g.win.in_w * g.c_in, T(0));
  for (int64_t row0 = 0; row0 < total; row0 += kRowsPerChunk) {
    const int64_t rows = std::min(kRowsPerChunk, total - row0);
    gemm<T>(false, true, rows, patch, g.c_out, dy + row0 * g.c_out, g.c_out, f, g.c_out, T(0), cols, patch);  // dy @ f^T
    col2im(g, cols, row0, rows, dx);
  }
}

template <class T>
void gemm_backprop_filter(const ops::Conv2DGeometry& g, const T* x, const T* dy, T* df) {
  const Tensor buffer = patch_buffer<T>(g);
  T* cols = static_cast<T*>(buffer.data_ptr());
  const int64_t total = g.n * g.win.out_h * g.win.out_w, patch = g.win.k_h * g.win.k_w * g.c_in;
  for (int64_t row0 = 0; row0 < total; row0 += kRowsPerChunk) {
    const int64_t rows = std::min(kRowsPerChunk, total - row0);
    im2col(g, x, row0, rows, cols);
    gemm<T>(true, false, patch, g.c_out, rows, cols, patch, dy + row0 * g.c_out, g.c_out, row0 == 0 ? T(0) : T(1), df, g.c_out);
  }
}

// ---------------------------------------------------------------- oneDNN
struct ConvSetup {
  memory::dims src, wei, dst, bias, strides, dilates, pad_l, pad_r;
  memory::data_type type;  // of every operand: float32, or bfloat16 (accumulated in float32 by oneDNN)
  memory::desc user_src, user_wei, user_dst, user_bias;
  dnnl::algorithm alg;
  bool plain;  // plain NHWC activations preferred (see with_layouts)
  std::string key;
};

ConvSetup conv_setup(const ops::Conv2DGeometry& geo, const Attrs& attrs, const char* op, DType dtype) {
  const ops::Conv2DGeometry& g = geo;
  ConvSetup s;
  s.src = {g.n, g.c_in, g.win.in_h, g.win.in_w};
  s.dst = {g.n, g.c_out, g.win.out_h, g.win.out_w};
  s.bias = {g.c_out};
  s.wei = g.groups == 1 ? memory::dims{g.c_out, g.c_in, g.win.k_h, g.win.k_w} : memory::dims{g.groups, g.group_out(), g.group_in(), g.win.k_h, g.win.k_w};
  s.strides = {g.win.stride_h, g.win.stride_w};
  s.dilates = {g.win.dil_h - 1, g.win.dil_w - 1};
  s.pad_l = {g.win.pad_top, g.win.pad_left};
  s.pad_r = {geo.win.pad_bottom, geo.win.pad_right};
  s.type = dtype == DType::BFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
  s.user_src = memory::desc(s.src, s.type, Tag::nhwc);
  s.user_dst = memory::desc(s.dst, s.type, Tag::nhwc);
  s.user_wei = memory::desc(s.wei, s.type, g.groups == 1 ? Tag::hwio : Tag::hwigo);
  s.user_bias = memory::desc(s.bias, s.type, Tag::a);
  const std::string alg = attrs.get_string("algorithm", op);
  if (alg != "auto" && alg != "direct") {
    throw InvalidArgument(std::string("[") + op + "] algorithm must be \"auto\" or \"direct\", got '" + alg + "'");
  }
  s.alg = alg == "direct" ? dnnl::algorithm::convolution_direct : dnnl::algorithm::convolution_auto;
  s.plain = g.groups == 1 && std::min(g.c_in, g.c_out) >= 16 && std::min(g.c_in, g.c_out) < 64;
  s.key = onednn::dims_key(s.src) + onednn::dims_key(s.wei) + onednn::dims_key(s.strides) +
          onednn::dims_key(s.dilates) + onednn::dims_key(s.pad_l) + onednn::dims_key(s.pad_r) + alg +
          (dtype == DType::BFloat16 ? "bf16" : "");
  return s;
}

memory::desc any(const ConvSetup& s, const memory::dims& d) { return memory::desc(d, s.type, Tag::any); }

// make(src layout, dst layout) with the activations in plain NHWC where both channel counts are
// at least 16, else in the layouts oneDNN picks (`any`: blocked by 16 channels). With 16 or more
// channels oneDNN's NHWC kernels (brgconv, jit) run at full vector width; its blocked layouts
// would cost a reorder of every activation and gradient to and from NHWC, since loom's tensors
// stay NHWC between ops (32 and 64 channels blocked by 16 are other bytes than NHWC). VGG-small's
// epoch at 1 thread: 15.2 -> 12.4 s, Winograd's gain on its 3x3 layers included in the loss.
// Fewer channels are padded to 16 in the blocked layouts, whose kernels are still the faster
// there (LeNet's second layer). Plain only where oneDNN serves it with a JIT kernel for the
// CPU's best instruction set.
template <class Make>
auto with_layouts(const ConvSetup& s, Make&& make) {
  if (s.plain) {
    try {
      auto pd = make(s.user_src, s.user_dst);
      if (onednn::best_jit_kernel(pd)) return pd;
    } catch (const dnnl::error&) {
      // no kernel for plain layouts: oneDNN's choice below
    }
  }
  return make(any(s, s.src), any(s, s.dst));
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvSetup& s, bool with_bias, const std::string& act) {
  return with_layouts(s, [&](const memory::desc& src, const memory::desc& dst) {
    const auto d = with_bias
        ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, s.alg, src, any(s, s.wei), s.user_bias, dst,
                                          s.strides, s.dilates, s.pad_l, s.pad_r)
        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, s.alg, src, any(s, s.wei), dst, s.strides,
                                          s.dilates, s.pad_l, s.pad_r);
    return dnnl::convolution_forward::primitive_desc(d, onednn::attributes(act), onednn::engine());
  });
}

struct ForwardEntry {
  bool generic_bf16 = false;  // oneDNN has only a slow generic bfloat16 kernel: widen instead
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  std::shared_ptr<onednn::Reorder> src_in, wei_in, dst_out;
};

// y = act(conv(x, f) + bias), the activation fused as a post-op.
void onednn_forward(const ConvSetup& s, const Tensor& x, const Tensor& f, const Tensor* bias, const std::string& act,
                    const Tensor& y) {
  const bool with_bias = bias != nullptr;
  auto e = onednn::cached<ForwardEntry>(onednn::key_prefix("conv_fwd") + s.key + (with_bias ? "b" : "") + act, [&] {
    auto entry = std::make_shared<ForwardEntry>();
    entry->pd = forward_pd(s, with_bias, act);
    entry->generic_bf16 = onednn::generic_bf16(entry->pd);
    if (entry->generic_bf16) return entry;
    entry->prim = dnnl::convolution_forward(entry->pd);
    entry->src_in = onednn::make_reorder(s.user_src, entry->pd.src_desc());
    entry->wei_in = onednn::make_reorder(s.user_wei, entry->pd.weights_desc());
    entry->dst_out = onednn::make_reorder(entry->pd.dst_desc(), s.user_dst);
    return entry;
  });
  if (e->generic_bf16) onednn::decline("generic bfloat16 convolution");
  const auto src = onednn::to_layout(onednn::wrap(x, s.user_src), e->pd.src_desc(), e->src_in.get());
  const auto wei = onednn::to_layout(onednn::wrap(f, s.user_wei), e->pd.weights_desc(), e->wei_in.get());
  const dnnl::memory user_dst = onednn::wrap(y, s.user_dst);
  const auto dst = onednn::output_buffer(user_dst, e->pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src.memory}, {DNNL_ARG_WEIGHTS, wei.memory},
                                             {DNNL_ARG_DST, dst.memory}};
  if (with_bias) args[DNNL_ARG_BIAS] = onednn::wrap(*bias, s.user_bias);
  onednn::execute(e->prim, e->pd, std::move(args));
  onednn::finish_output(dst, user_dst, e->dst_out.get());
}

struct BackwardDataEntry {
  bool generic_bf16 = false;  // oneDNN has only a slow generic bfloat16 kernel: widen instead
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  std::shared_ptr<onednn::Reorder> dy_in, wei_in, dx_out;
};

void onednn_backprop_input(const ConvSetup& s, const Tensor& dy, const Tensor& f, const Tensor& dx) {
  auto e = onednn::cached<BackwardDataEntry>(onednn::key_prefix("conv_bwd_data") + s.key, [&] {
    auto entry = std::make_shared<BackwardDataEntry>();
    entry->pd = with_layouts(s, [&](const memory::desc& src, const memory::desc& dst) {
      const auto d = dnnl::convolution_backward_data::desc(s.alg, src, any(s, s.wei), dst, s.strides, s.dilates, s.pad_l,
                                                           s.pad_r);
      return dnnl::convolution_backward_data::primitive_desc(d, onednn::attributes(), onednn::engine(),
                                                             forward_pd(s, false, "linear"));
    });
    entry->generic_bf16 = onednn::generic_bf16(entry->pd);
    if (entry->generic_bf16) return entry;
    entry->prim = dnnl::convolution_backward_data(entry->pd);
    entry->dy_in = onednn::make_reorder(s.user_dst, entry->pd.diff_dst_desc());
    entry->wei_in = onednn::make_reorder(s.user_wei, entry->pd.weights_desc());
    entry->dx_out = onednn::make_reorder(entry->pd.diff_src_desc(), s.user_src);
    return entry;
  });
  if (e->generic_bf16) onednn::decline("generic bfloat16 convolution");
  const auto ddst = onednn::to_layout(onednn::wrap(dy, s.user_dst), e->pd.diff_dst_desc(), e->dy_in.get());
  const auto wei = onednn::to_layout(onednn::wrap(f, s.user_wei), e->pd.weights_desc(), e->wei_in.get());
  const dnnl::memory user_dx = onednn::wrap(dx, s.user_src);
  const auto dsrc = onednn::output_buffer(user_dx, e->pd.diff_src_desc());
  onednn::execute(e->prim, e->pd,
                  {{DNNL_ARG_DIFF_DST, ddst.memory}, {DNNL_ARG_WEIGHTS, wei.memory}, {DNNL_ARG_DIFF_SRC, dsrc.memory}});
  onednn::finish_output(dsrc, user_dx, e->dx_out.get());
}

// Plain NHWC first where both channel counts are at least 16 (with_layouts). Otherwise, with
// "auto", oneDNN picks the direct algorithm for the weight gradient even where its Winograd
// kernel is twice as fast on blocked layouts (3x3, stride 1): ask for Winograd first, unless its
// layouts pad the channels (one input channel stored as 16: 6.1 ms for VGG-small's first layer,
// against 1.1 ms for the NHWC kernel), and fall back to oneDNN's choice where it has none.
// With the blocked layouts oneDNN picks (`any`), a channel count that is not a multiple of 16
// can confine it to an AVX2 kernel (LeNet's second layer, 6 input channels: 1.9 ms per step);
// then plain NHWC activations are tried, which its AVX-512 kernel takes (0.85 ms, and no
// reorders of the activations). The same where the blocked layouts pad the channels (LeNet's
// first layer, 6 output channels stored as 16): its gradient's reorder into 2.7x the bytes costs
// about half as much as the kernel itself, and the NHWC kernel is as fast.
dnnl::convolution_backward_weights::primitive_desc backward_weights_pd(const ConvSetup& s) {
  auto make = [&](dnnl::algorithm alg, const memory::desc& src, const memory::desc& dst) {
    const auto d = dnnl::convolution_backward_weights::desc(alg, src, any(s, s.wei), dst, s.strides, s.dilates, s.pad_l,
                                                            s.pad_r);
    return dnnl::convolution_backward_weights::primitive_desc(d, onednn::attributes(), onednn::engine(),
                                                              forward_pd(s, false, "linear"));
  };
  if (s.plain) {
    return with_layouts(s, [&](const memory::desc& src, const memory::desc& dst) { return make(s.alg, src, dst); });
  }
  if (s.alg == dnnl::algorithm::convolution_auto) {
    try {
      auto wino = make(dnnl::algorithm::convolution_winograd, any(s, s.src), any(s, s.dst));
      if (!onednn::pads_channels(wino.src_desc()) && !onednn::pads_channels(wino.diff_dst_desc())) return wino;
    } catch (const dnnl::error&) {
      // no Winograd kernel for this shape or machine
    }
  }
  auto pd = make(s.alg, any(s, s.src), any(s, s.dst));
  if (onednn::below_best_isa(pd) || onednn::pads_channels(pd.src_desc()) || onednn::pads_channels(pd.diff_dst_desc())) {
    try {
      auto plain = make(s.alg, s.user_src, s.user_dst);
      if (onednn::best_jit_kernel(plain)) return plain;
    } catch (const dnnl::error&) {
      // no kernel for plain layouts: keep the first choice
    }
  }
  return pd;
}

struct BackwardWeightsEntry {
  bool generic_bf16 = false;  // oneDNN has only a slow generic bfloat16 kernel: widen instead
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  std::shared_ptr<onednn::Reorder> src_in, dy_in, dw_out;
};

void onednn_backprop_filter(const ConvSetup& s, const Tensor& x, const Tensor& dy, const Tensor& df) {
  auto e = onednn::cached<BackwardWeightsEntry>(onednn::key_prefix("conv_bwd_weights") + s.key, [&] {
    auto entry = std::make_shared<BackwardWeightsEntry>();
    entry->pd = backward_weights_pd(s);
    entry->generic_bf16 = onednn::generic_bf16(entry->pd);
    if (entry->generic_bf16) return entry;
    entry->prim = dnnl::convolution_backward_weights(entry->pd);
    entry->src_in = onednn::make_reorder(s.user_src, entry->pd.src_desc());
    entry->dy_in = onednn::make_reorder(s.user_dst, entry->pd.diff_dst_desc());
    entry->dw_out = onednn::make_reorder(entry->pd.diff_weights_desc(), s.user_wei);
    return entry;
  });
  if (e->generic_bf16) onednn::decline("generic bfloat16 convolution");
  const auto src = onednn::to_layout(onednn::wrap(x, s.user_src), e->pd.src_desc(), e->src_in.get());
  const auto ddst = onednn::to_layout(onednn::wrap(dy, s.user_dst), e->pd.diff_dst_desc(), e->dy_in.get());
  const dnnl::memory user_dw = onednn::wrap(df, s.user_wei);
  const auto dwei = onednn::output_buffer(user_dw, e->pd.diff_weights_desc());
  onednn::execute(e->prim, e->pd,
                  {{DNNL_ARG_SRC, src.memory}, {DNNL_ARG_DIFF_DST, ddst.memory}, {DNNL_ARG_DIFF_WEIGHTS, dwei.memory}});
  onednn::finish_output(dwei, user_dw, e->dw_out.get());
}

// float32 and bfloat16 go to oneDNN; float64 and what oneDNN declines run im2col + GEMM
// (groups == 1) or the direct loops (grouped); bfloat16 that oneDNN declines runs widened.
template <class OneDnn, class Gemm, class Loops>
void run(KernelFn kernel, const OpCall& call, std::vector<Tensor>& outputs, const ops::Conv2DGeometry& geo,
         OneDnn&& onednn_path, Gemm&& gemm_path, Loops&& loops) {
  const Tensor& out = outputs[0];
  if (out.numel() == 0) return;
  if (out.dtype() == DType::BFloat16) {
    try {
      onednn_path();
    } catch (const dnnl::error&) {
      run_kernel_widened(kernel, call, outputs);
    }
    return;
  }
  if (out.dtype() == DType::Float32) {
    try {
      onednn_path();
      return;
    } catch (const dnnl::error&) {
      // unsupported by oneDNN: fall through
    }
  }
  if (geo.groups == 1) visit_float(out.dtype(), gemm_path);
  else visit_float(out.dtype(), loops);
}

void conv2d_kernel(const OpCall& call, std::vector<Tensor>& out);
void backprop_input_kernel(const OpCall& call, std::vector<Tensor>& out);
void backprop_filter_kernel(const OpCall& call, std::vector<Tensor>& out);

void conv2d_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous(), f = call.inputs[1].contiguous();
  const Tensor bias = call.inputs.size() == 3 ? call.inputs[2].contiguous() : Tensor();
  const auto geo = ops::conv2d_geometry(x.shape(), f.shape(), call.attrs, call.name());
  const std::string act = ops::fused_activation(call);
  if (out[0].numel() > 0 && one_channel_conv_applies(geo, x.dtype(), act)) {
    one_channel_conv(geo, static_cast<const float*>(x.data_ptr()), static_cast<const float*>(f.data_ptr()),
                     bias.defined() ? static_cast<const float*>(bias.data_ptr()) : nullptr, act == "relu",
                     static_cast<float*>(out[0].data_ptr()));
    return;
  }
  bool fused = false;
  run(conv2d_kernel, call, out, geo,
      [&] {
        onednn_forward(conv_setup(geo, call.attrs, call.name(), x.dtype()), x, f, bias.defined() ? &bias : nullptr, act, out[0]);
        fused = true;
      },
      [&](auto tag) {
        using T = decltype(tag);
        gemm_forward<T>(geo, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(f.data_ptr()),
                        bias.defined() ? static_cast<const T*>(bias.data_ptr()) : nullptr,
                        static_cast<T*>(out[0].data_ptr()));
      },
      [&](auto tag) {
        using T = decltype(tag);
        reference_forward<T>(geo, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(f.data_ptr()),
                             bias.defined() ? static_cast<const T*>(bias.data_ptr()) : nullptr,
                             static_cast<T*>(out[0].data_ptr()));
      });
  if (!fused && act != "linear") ops::copy_into(out[0], activation(out[0], act));
}

// For stride 1, dx is a forward convolution of dy with the spatially flipped filter (input and
// output channels swapped) and padding ek - 1 - pad. With very few input channels oneDNN's
// backward-data kernel pads its blocked layout to 16 channels (12 ms for LeNet's first layer);
// the equivalent forward convolution takes about 1.5 ms.
bool backprop_as_forward(const ops::Conv2DGeometry& g) {
  return g.groups == 1 && g.c_in < 8 && g.win.stride_h == 1 && g.win.stride_w == 1;
}

void backprop_input_via_forward(const ops::Conv2DGeometry& g, const Attrs& attrs, const char* op, const Tensor& dy,
                                const Tensor& f, const Tensor& dx) {
  const Tensor flipped = transpose(f.index({Slice(None, None, -1), Slice(None, None, -1)}), {0, 1, 3, 2}).contiguous();
  ops::Conv2DGeometry t;
  t.n = g.n;
  t.c_in = g.c_out;
  t.c_out = g.c_in;
  t.win = g.win;
  t.win.in_h = g.win.out_h;
  t.win.in_w = g.win.out_w;
  t.win.out_h = g.win.in_h;
  t.win.out_w = g.win.in_w;
  const int64_t ek_h = (g.win.k_h - 1) * g.win.dil_h + 1, ek_w = (g.win.k_w - 1) * g.win.dil_w + 1;
  t.win.pad_top = ek_h - 1 - g.win.pad_top;
  t.win.pad_bottom = ek_h - 1 - g.win.pad_bottom;
  t.win.pad_left = ek_w - 1 - g.win.pad_left;
  t.win.pad_right = ek_w - 1 - g.win.pad_right;
  onednn_forward(conv_setup(t, attrs, op, dy.dtype()), dy, flipped, nullptr, "linear", dx);
}

void backprop_input_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous(), f = call.inputs[1].contiguous();
  const auto geo = ops::conv2d_geometry(out[0].shape(), f.shape(), call.attrs, call.name());
  run(backprop_input_kernel, call, out, geo,
      [&] {
        if (backprop_as_forward(geo)) backprop_input_via_forward(geo, call.attrs, call.name(), dy, f, out[0]);
        else onednn_backprop_input(conv_setup(geo, call.attrs, call.name(), dy.dtype()), dy, f, out[0]);
      },
      [&](auto tag) {
        using T = decltype(tag);
        gemm_backprop_input<T>(geo, static_cast<const T*>(dy.data_ptr()), static_cast<const T*>(f.data_ptr()),
                               static_cast<T*>(out[0].data_ptr()));
      },
      [&](auto tag) {
        using T = decltype(tag);
        reference_backprop_input<T>(geo, static_cast<const T*>(dy.data_ptr()), static_cast<const T*>(f.data_ptr()),
                                    static_cast<T*>(out[0].data_ptr()));
      });
}

void backprop_filter_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous(), dy = call.inputs[1].contiguous();
  const auto geo = ops::conv2d_geometry(x.shape(), out[0].shape(), call.attrs, call.name());
  if (out[0].numel() > 0 && one_channel_filter_grad_applies(geo, x.dtype())) {
    one_channel_filter_grad(geo, static_cast<const float*>(x.data_ptr()), static_cast<const float*>(dy.data_ptr()),
                            static_cast<float*>(out[0].data_ptr()));
    return;
  }
  run(backprop_filter_kernel, call, out, geo,
      [&] { onednn_backprop_filter(conv_setup(geo, call.attrs, call.name(), x.dtype()), x, dy, out[0]); },
      [&](auto tag) {
        using T = decltype(tag);
        gemm_backprop_filter<T>(geo, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(dy.data_ptr()),
                                static_cast<T*>(out[0].data_ptr()));
      },
      [&](auto tag) {
        using T = decltype(tag);
        reference_backprop_filter<T>(geo, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(dy.data_ptr()),
                                     static_cast<T*>(out[0].data_ptr()));
      });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_conv) {
  constexpr DTypeMask kConvTypes = kFloatTypes | mask_of({DType::BFloat16});
  register_kernel("conv2d", DeviceType::CPU, conv2d_kernel, kConvTypes);
  register_kernel("conv2d_backprop_input", DeviceType::CPU, backprop_input_kernel, kConvTypes);
  register_kernel("conv2d_backprop_filter", DeviceType::CPU, backprop_filter_kernel, kConvTypes);
}

}  // namespace loom::cpu
