// conv2d_relu_max_pool2d on the CPU: a one-channel convolution (kernels_conv_one_channel.cpp)
// pools each image while it is in cache -- the convolution's output is never written to memory
// nor read back, which was most of the time of both ops for a grayscale input layer; otherwise
// conv2d's kernel, then max pooling of its output. Likewise its filter gradient below.
#include "cpu/kernels_conv_one_channel.hpp"
#include "cpu/kernels_pool.hpp"
#include "loom/backend/kernel.hpp"
#include "loom/ops.hpp"

namespace loom::cpu {
namespace {

void conv_relu_max_pool_kernel(const OpCall& call, std::vector<Tensor>& out) {
  ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  const Tensor x = call.inputs[0].contiguous(), f = call.inputs[1].contiguous();
  const Tensor bias = call.inputs.size() == 3 ? call.inputs[2].contiguous() : Tensor();
  const auto g = ops::conv2d_geometry(x.shape(), f.shape(), a.conv, call.name());
  const Shape conv_out{g.n, g.win.out_h, g.win.out_w, g.c_out};
  const auto window = ops::pool_window_2d(conv_out, a.pool, call.name());
  if (out[0].numel() > 0 && one_channel_conv_applies(g, x.dtype(), "relu") && max_pool_is_whole_2x2_stride_2(conv_out, window)) {
    const MaxPoolOutput pool{conv_out, window, static_cast<float*>(out[0].data_ptr()), static_cast<int64_t*>(out[1].data_ptr())};
    one_channel_conv(g, static_cast<const float*>(x.data_ptr()), static_cast<const float*>(f.data_ptr()),
                     bias.defined() ? static_cast<const float*>(bias.data_ptr()) : nullptr, true, nullptr, &pool);
    return;
  }
  a.conv.set("activation", std::string("relu"));
  max_pool_into(call_op("conv2d", call.inputs, a.conv)[0], window, out[0], out[1]);
}

// Its filter gradient: for a one-channel input layer straight from the pooled gradient (never
// scattered to the convolution's output size); otherwise the scatter and conv2d_backprop_filter.
void conv_relu_max_pool_filter_grad_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const ops::ConvPoolAttrs a = ops::split_conv_pool_attrs(call.attrs);
  const Tensor x = call.inputs[0].contiguous(), dy = call.inputs[1].contiguous(), argmax = call.inputs[2].contiguous();
  const auto g = ops::conv2d_geometry(x.shape(), out[0].shape(), a.conv, call.name());
  const auto window = ops::pool_window_2d(Shape{g.n, g.win.out_h, g.win.out_w, g.c_out}, a.pool, call.name());
  if (one_channel_pooled_filter_grad_applies(g, x.dtype(), window)) {
    one_channel_pooled_filter_grad(g, window, static_cast<const float*>(x.data_ptr()), static_cast<const float*>(dy.data_ptr()),
                                   static_cast<const int64_t*>(argmax.data_ptr()), static_cast<float*>(out[0].data_ptr()));
    return;
  }
  const Tensor dz = call_op("max_pool2d_grad", {dy, argmax}, Attrs{{"input_shape", std::vector<int64_t>{g.n, g.win.out_h, g.win.out_w, g.c_out}}})[0];
  ops::copy_into(out[0], call_op("conv2d_backprop_filter", {x, dz}, a.conv)[0]);
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_conv_pool) {
  register_kernel("conv2d_relu_max_pool2d", DeviceType::CPU, conv_relu_max_pool_kernel, kFloatTypes | mask_of({DType::BFloat16}));
  register_kernel("conv2d_relu_max_pool2d_backprop_filter", DeviceType::CPU, conv_relu_max_pool_filter_grad_kernel,
                  mask_of({DType::Float32}));
}

}  // namespace loom::cpu
