// Neural-network kernels on the GPU. Convolutions run on cuDNN when the build found it and it
// takes the case (cuda/cudnn/conv.cpp), else on im2col / col2im kernels around cuBLAS matrix
// products (through the matmul op); pooling has its own kernels; softmax, batch norm
// and dense are written with ops whose GPU kernels are in the other files.
#include <cfloat>

#include "cuda/common.hpp"
#include "cuda/conv_cudnn.hpp"
#include "cuda/registration.hpp"
#include "loom/creation.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"
#include "loom/backend/geometry.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cuda {
namespace {

// The geometry of one channel group, run as an ungrouped convolution.
ops::Conv2DGeometry one_group(ops::Conv2DGeometry g) {
  g.c_in = g.group_in();
  g.c_out = g.group_out();
  g.groups = 1;
  return g;
}

// cols[(n, oh, ow), (kh, kw, c)] = x[n, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw, c] (0 outside).
template <class T>
__global__ void im2col(const T* x, T* cols, ops::Conv2DGeometry d) {
  const ops::Window2D& w = d.win;
  const int64_t patch = w.k_h * w.k_w * d.c_in, total = d.n * w.out_h * w.out_w * patch;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = t % d.c_in, kw = t / d.c_in % w.k_w, kh = t / (d.c_in * w.k_w) % w.k_h, pix = t / patch;
    const int64_t ow = pix % w.out_w, oh = pix / w.out_w % w.out_h, n = pix / (w.out_w * w.out_h);
    const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dil_h, iw = ow * w.stride_w - w.pad_left + kw * w.dil_w;
    cols[t] = (ih < 0 || ih >= w.in_h || iw < 0 || iw >= w.in_w) ? T(0) : x[d.x_at(n, ih, iw, c)];
  }
}

// dx[n, ih, iw, c] = sum of dcols over the output pixels whose window covers it (gather form:
// no atomics, deterministic).
template <class T>
__global__ void col2im(const T* dcols, T* dx, ops::Conv2DGeometry d) {
  const ops::Window2D& w = d.win;
  const int64_t patch = w.k_h * w.k_w * d.c_in, total = d.n * w.in_h * w.in_w * d.c_in;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = t % d.c_in, iw = t / d.c_in % w.in_w, ih = t / (d.c_in * w.in_w) % w.in_h, n = t / (d.c_in * w.in_w * w.in_h);
    compute_t<T> acc = 0;
    for (int64_t kh = 0; kh < w.k_h; ++kh) {
      const int64_t y = ih + w.pad_top - kh * w.dil_h;
      if (y < 0 || y % w.stride_h != 0 || y / w.stride_h >= w.out_h) continue;
      for (int64_t kw = 0; kw < w.k_w; ++kw) {
        const int64_t x = iw + w.pad_left - kw * w.dil_w;
        if (x < 0 || x % w.stride_w != 0 || x / w.stride_w >= w.out_w) continue;
        const int64_t pix = (n * w.out_h + y / w.stride_h) * w.out_w + x / w.stride_w;
        acc += convert<compute_t<T>>(dcols[pix * patch + (kh * w.k_w + kw) * d.c_in + c]);
      }
    }
    dx[t] = convert<T>(acc);
  }
}

template <class F>
void for_float(DType dtype, F&& f) {
  if (dtype == DType::Float64) f(double{});
  else f(float{});
}

Tensor run_im2col(const Tensor& x, const ops::Conv2DGeometry& d) {
  Tensor cols = empty({d.n * d.win.out_h * d.win.out_w, d.win.k_h * d.win.k_w * d.c_in}, x.dtype(), x.device(), "conv2d");
  for_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    im2col<T><<<blocks_for(cols.numel()), kThreads, 0, stream(x.device().index)>>>(static_cast<const T*>(x.data_ptr()),
                                                                                   static_cast<T*>(cols.data_ptr()), d);
  });
  check_launch("conv2d");
  return cols;
}

// Channel slices of one group (all channels when groups == 1).
Tensor channels(const Tensor& t, int64_t g, int64_t per_group, int64_t groups) {
  if (groups == 1) return t.contiguous();
  return t.index({Ellipsis, Slice(g * per_group, (g + 1) * per_group)}).contiguous();
}

Tensor im2col_conv2d(const ops::Conv2DGeometry& geo, const Tensor& x, const Tensor& f) {
  const int64_t G = geo.groups, ICg = geo.c_in / G, OCg = geo.c_out / G;
  std::vector<Tensor> parts;
  for (int64_t g = 0; g < G; ++g) {
    const ops::Conv2DGeometry d = one_group(geo);
    const Tensor cols = run_im2col(channels(x, g, ICg, G), d);
    const Tensor w = reshape(channels(f, g, OCg, G), {d.win.k_h * d.win.k_w * ICg, OCg});
    parts.push_back(reshape(matmul(cols, w), {d.n, d.win.out_h, d.win.out_w, OCg}));
  }
  return G == 1 ? parts[0] : concat(parts, -1);
}

void conv2d_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& x = call.inputs[0];
  const Tensor& f = call.inputs[1];
  const auto geo = ops::conv2d_geometry(x.shape(), f.shape(), call.attrs, call.name());
  if (out[0].numel() == 0) return;
  const std::string act = ops::fused_activation(call);
  const bool on_cudnn = cudnn_conv2d(geo, x, f, out[0]);
  if (on_cudnn && call.inputs.size() == 2 && act == "linear") return;
  if (!on_cudnn && is_half(x.dtype())) return run_kernel_widened(conv2d_kernel, call, out);  // im2col is float32/64
  Tensor y = on_cudnn ? out[0] : im2col_conv2d(geo, x, f);
  if (call.inputs.size() == 3) y = y + call.inputs[2];
  ops::copy_into(out[0], activation(y, act));
}

void backprop_input_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& dy = call.inputs[0];
  const Tensor& f = call.inputs[1];
  const auto geo = ops::conv2d_geometry(out[0].shape(), f.shape(), call.attrs, call.name());
  if (out[0].numel() == 0 || cudnn_conv2d_backprop_input(geo, dy, f, out[0])) return;
  if (is_half(dy.dtype())) return run_kernel_widened(backprop_input_kernel, call, out);
  const int64_t G = geo.groups, ICg = geo.c_in / G, OCg = geo.c_out / G;
  std::vector<Tensor> parts;
  for (int64_t g = 0; g < G; ++g) {
    const ops::Conv2DGeometry d = one_group(geo);
    const Tensor w = reshape(channels(f, g, OCg, G), {d.win.k_h * d.win.k_w * ICg, OCg});
    const Tensor dcols = matmul(reshape(channels(dy, g, OCg, G), {d.n * d.win.out_h * d.win.out_w, OCg}), w, false, true).contiguous();
    Tensor dx = empty({d.n, d.win.in_h, d.win.in_w, ICg}, dy.dtype(), dy.device(), call.name());
    for_float(dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      col2im<T><<<blocks_for(dx.numel()), kThreads, 0, stream(dy.device().index)>>>(static_cast<const T*>(dcols.data_ptr()),
                                                                                     static_cast<T*>(dx.data_ptr()), d);
    });
    check_launch(call.name());
    parts.push_back(dx);
  }
  ops::copy_into(out[0], G == 1 ? parts[0] : concat(parts, -1));
}

void backprop_filter_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& x = call.inputs[0];
  const Tensor& dy = call.inputs[1];
  const auto geo = ops::conv2d_geometry(x.shape(), out[0].shape(), call.attrs, call.name());
  if (out[0].numel() == 0 || cudnn_conv2d_backprop_filter(geo, x, dy, out[0])) return;
  if (is_half(x.dtype())) return run_kernel_widened(backprop_filter_kernel, call, out);
  const int64_t G = geo.groups, ICg = geo.c_in / G, OCg = geo.c_out / G;
  std::vector<Tensor> parts;
  for (int64_t g = 0; g < G; ++g) {
    const ops::Conv2DGeometry d = one_group(geo);
    const Tensor cols = run_im2col(channels(x, g, ICg, G), d);
    const Tensor df = matmul(cols, reshape(channels(dy, g, OCg, G), {d.n * d.win.out_h * d.win.out_w, OCg}), true, false);
    parts.push_back(reshape(df, {d.win.k_h, d.win.k_w, ICg, OCg}));
  }
  ops::copy_into(out[0], G == 1 ? parts[0] : concat(parts, -1));
}

// ---------------------------------------------------------------- pooling (NHWC)
__device__ inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
__device__ inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

struct PoolDims {
  int64_t N, H, W, C, OH, OW, KH, KW, sh, sw, pt, pl;
};

PoolDims pool_dims(const OpCall& call, const Shape& x) {
  const ops::Window2D w = ops::pool_window_2d(x, call.attrs, call.name());
  return {x[0], x[1], x[2], x[3], w.out_h, w.out_w, w.k_h, w.k_w, w.stride_h, w.stride_w, w.pad_top, w.pad_left};
}

template <class T>
__global__ void max_pool(const T* x, T* y, int64_t* arg, PoolDims d) {
  const int64_t total = d.N * d.OH * d.OW * d.C;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = t % d.C, ow = t / d.C % d.OW, oh = t / (d.C * d.OW) % d.OH, n = t / (d.C * d.OW * d.OH);
    const int64_t h0 = imax(oh * d.sh - d.pt, 0), h1 = imin(oh * d.sh - d.pt + d.KH, d.H);
    const int64_t w0 = imax(ow * d.sw - d.pl, 0), w1 = imin(ow * d.sw - d.pl + d.KW, d.W);
    T best = T(-INFINITY);
    int64_t best_i = ((n * d.H + h0) * d.W + w0) * d.C + c;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t w = w0; w < w1; ++w) {
        const int64_t i = ((n * d.H + h) * d.W + w) * d.C + c;
        if (x[i] > best) {
          best = x[i];
          best_i = i;
        }
      }
    }
    y[t] = best;
    arg[t] = best_i;
  }
}

template <class T>
__global__ void max_pool_grad(const T* dy, const int64_t* arg, T* dx, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < n; t += int64_t{gridDim.x} * blockDim.x) atomicAdd(dx + arg[t], dy[t]);
}

template <class T>
__global__ void avg_pool(const T* x, T* y, PoolDims d) {
  const int64_t total = d.N * d.OH * d.OW * d.C;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = t % d.C, ow = t / d.C % d.OW, oh = t / (d.C * d.OW) % d.OH, n = t / (d.C * d.OW * d.OH);
    const int64_t h0 = imax(oh * d.sh - d.pt, 0), h1 = imin(oh * d.sh - d.pt + d.KH, d.H);
    const int64_t w0 = imax(ow * d.sw - d.pl, 0), w1 = imin(ow * d.sw - d.pl + d.KW, d.W);
    T sum = 0;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t w = w0; w < w1; ++w) sum += x[((n * d.H + h) * d.W + w) * d.C + c];
    }
    y[t] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
  }
}

// Gather form: each input element sums the windows that cover it.
template <class T>
__global__ void avg_pool_grad(const T* dy, T* dx, PoolDims d) {
  const int64_t total = d.N * d.H * d.W * d.C;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = t % d.C, iw = t / d.C % d.W, ih = t / (d.C * d.W) % d.H, n = t / (d.C * d.W * d.H);
    T acc = 0;
    for (int64_t oh = 0; oh < d.OH; ++oh) {
      const int64_t h0 = oh * d.sh - d.pt;
      if (ih < h0 || ih >= h0 + d.KH) continue;
      const int64_t hc = imin(h0 + d.KH, d.H) - imax(h0, 0);
      for (int64_t ow = 0; ow < d.OW; ++ow) {
        const int64_t w0 = ow * d.sw - d.pl;
        if (iw < w0 || iw >= w0 + d.KW) continue;
        const int64_t wc = imin(w0 + d.KW, d.W) - imax(w0, 0);
        acc += dy[((n * d.OH + oh) * d.OW + ow) * d.C + c] / static_cast<T>(hc * wc);
      }
    }
    dx[t] = acc;
  }
}

void max_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const PoolDims d = pool_dims(call, x.shape());
  if (out[0].numel() == 0) return;
  for_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool<T><<<blocks_for(out[0].numel()), kThreads, 0, stream(x.device().index)>>>(
        static_cast<const T*>(x.data_ptr()), static_cast<T*>(out[0].data_ptr()), static_cast<int64_t*>(out[1].data_ptr()), d);
  });
  check_launch(call.name());
}

void max_pool_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous(), arg = call.inputs[1].contiguous();
  const int device = out[0].device().index;
  check(cudaMemsetAsync(out[0].data_ptr(), 0, out[0].nbytes(), stream(device)), call.name());
  if (dy.numel() == 0) return;
  for_float(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool_grad<T><<<blocks_for(dy.numel()), kThreads, 0, stream(device)>>>(
        static_cast<const T*>(dy.data_ptr()), static_cast<const int64_t*>(arg.data_ptr()), static_cast<T*>(out[0].data_ptr()), dy.numel());
  });
  check_launch(call.name());
}

void avg_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous();
  const PoolDims d = pool_dims(call, x.shape());
  if (out[0].numel() == 0) return;
  for_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool<T><<<blocks_for(out[0].numel()), kThreads, 0, stream(x.device().index)>>>(static_cast<const T*>(x.data_ptr()),
                                                                                       static_cast<T*>(out[0].data_ptr()), d);
  });
  check_launch(call.name());
}

void avg_pool_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor dy = call.inputs[0].contiguous();
  const PoolDims d = pool_dims(call, out[0].shape());
  if (out[0].numel() == 0) return;
  for_float(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool_grad<T><<<blocks_for(out[0].numel()), kThreads, 0, stream(dy.device().index)>>>(static_cast<const T*>(dy.data_ptr()),
                                                                                             static_cast<T*>(out[0].data_ptr()), d);
  });
  check_launch(call.name());
}

}  // namespace

void register_nn_kernels() {
  const DeviceType gpu = DeviceType::GPU;
  // 16-bit convolutions on cuDNN's tensor cores (the mixed-precision policies); what cuDNN
  // declines runs widened to float32.
  register_kernel("conv2d", gpu, conv2d_kernel, kFloatTypes | kHalfTypes);
  register_kernel("conv2d_backprop_input", gpu, backprop_input_kernel, kFloatTypes | kHalfTypes);
  register_kernel("conv2d_backprop_filter", gpu, backprop_filter_kernel, kFloatTypes | kHalfTypes);
  register_kernel("max_pool2d", gpu, max_pool_kernel, kFloatTypes);
  register_kernel("max_pool2d_grad", gpu, max_pool_grad_kernel, kFloatTypes);
  register_kernel("avg_pool2d", gpu, avg_pool_kernel, kFloatTypes);
  register_kernel("avg_pool2d_grad", gpu, avg_pool_grad_kernel, kFloatTypes);
}

}  // namespace loom::cuda
