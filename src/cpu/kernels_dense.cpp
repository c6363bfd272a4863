// dense on the CPU: a oneDNN matmul with the bias and the activation fused as a post-op for
// float32 and bfloat16 (accumulated in float32); the unfused ops for anything else.
#include "cpu/loops.hpp"
#include "cpu/onednn/onednn.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

using dnnl::memory;

struct DenseEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

void onednn_dense(const Tensor& x, const Tensor& kernel, const Tensor* bias, const std::string& act, const Tensor& y) {
  const int64_t k = kernel.shape()[0], n = kernel.shape()[1], m = x.numel() / std::max<int64_t>(k, 1);
  const bool bf16 = x.dtype() == DType::BFloat16;
  const auto type = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  const memory::desc src({m, k}, type, memory::format_tag::ab), wei({k, n}, type, memory::format_tag::ab);
  const memory::desc dst({m, n}, type, memory::format_tag::ab), bias_md({1, n}, type, memory::format_tag::ab);
  const std::string key =
      onednn::key_prefix("dense") + onednn::dims_key({m, k, n}) + (bias ? "b" : "") + act + (bf16 ? "bf16" : "");
  auto e = onednn::cached<DenseEntry>(key, [&] {
    auto entry = std::make_shared<DenseEntry>();
    const dnnl::primitive_attr attr = onednn::attributes(act);
    const auto d = bias ? dnnl::matmul::desc(src, wei, bias_md, dst) : dnnl::matmul::desc(src, wei, dst);
    entry->pd = dnnl::matmul::primitive_desc(d, attr, onednn::engine());
    entry->prim = dnnl::matmul(entry->pd);
    return entry;
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, onednn::wrap(x, src)},
                                             {DNNL_ARG_WEIGHTS, onednn::wrap(kernel, wei)},
                                             {DNNL_ARG_DST, onednn::wrap(y, dst)}};
  if (bias) args[DNNL_ARG_BIAS] = onednn::wrap(*bias, bias_md);
  onednn::execute(e->prim, e->pd, std::move(args));
}

void dense_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor x = call.inputs[0].contiguous(), kernel = call.inputs[1].contiguous();
  const Tensor bias = call.inputs.size() == 3 ? call.inputs[2].contiguous() : Tensor();
  const std::string act = call.attrs.get_string("activation", call.name());
  if (out[0].numel() == 0) return;
  if ((x.dtype() == DType::Float32 || x.dtype() == DType::BFloat16) && x.numel() > 0) {
    try {
      onednn_dense(x, kernel, bias.defined() ? &bias : nullptr, act, out[0]);
      return;
    } catch (const dnnl::error&) {
      // declined by oneDNN: the unfused ops below
    }
  }
  Tensor y = loom::matmul(x, kernel);
  if (bias.defined()) y = y + bias;
  ops::copy_into(out[0], activation(y, act));
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_dense) {
  register_kernel("dense", DeviceType::CPU, dense_kernel, kFloatTypes | mask_of({DType::BFloat16}));
}

}  // namespace loom::cpu
