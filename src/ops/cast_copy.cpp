// cast, copies within and across devices.
#include "loom/backend/backend.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

std::vector<TensorMeta> infer_cast(const OpCall& call) {
  return {TensorMeta{call.inputs[0].shape(), call.attrs.get_dtype("dtype", call.name())}};
}

// Gradients flow between floating dtypes only (as TF).
std::vector<Tensor> grad_cast(const GradCall& g) {
  const DType from = g.input_metas[0].dtype;
  if (!is_floating(from) || !is_floating(g.grads[0].dtype())) return {Tensor()};
  return {cast(g.grads[0], from)};
}

std::vector<Tensor> forward_copy_to_device(const OpCall& call) {
  const Tensor src = call.inputs[0].contiguous();
  const Device from = src.device();
  const Device to = Device::parse(call.attrs.get_string("device", call.name()));
  Tensor out = empty(src.shape(), src.dtype(), to, call.name());
  const size_t n = src.nbytes();
  if (n == 0) return {out};
  Backend& src_backend = backend_for(from, call.name());
  Backend& dst_backend = backend_for(to, call.name());
  if (from.is_cpu()) {
    dst_backend.copy_from_host(out.data_ptr(), src.data_ptr(), n, to.index);
  } else if (to.is_cpu()) {
    src_backend.copy_to_host(out.data_ptr(), src.data_ptr(), n, from.index);
  } else {  // between two GPUs: stage through the host
    Tensor staged = empty(src.shape(), src.dtype(), Device::cpu(), call.name());
    src_backend.copy_to_host(staged.data_ptr(), src.data_ptr(), n, from.index);
    dst_backend.copy_from_host(out.data_ptr(), staged.data_ptr(), n, to.index);
  }
  return {out};
}

std::vector<Tensor> grad_copy_to_device(const GradCall& g) {
  return {g.grads[0].to(g.input_metas[0].device)};
}

}  // namespace

LOOM_REGISTER_OPS(cast_copy) {
  define_op("cast").inputs({"x"}).attr("dtype", AttrType::DType, true).infer(infer_cast)
      .grad(grad_cast).saves(false, false).reads_variables_exactly()
      .doc("converts to another dtype (floats to ints truncate toward zero; to bool: x != 0)");
  define_op("copy_to_device").inputs({"x"}).attr("device", AttrType::String, true)
      .forward(forward_copy_to_device).grad(grad_copy_to_device).saves(false, false).ignores_device_scope().reads_variables_exactly()
      .doc("a copy of x on another device (\"CPU:0\", \"GPU:0\")");
  define_op("copy_into").inputs({"destination", "source"}).in_place().internal()
      .doc("writes input 1 into the view input 0 (same shape and dtype)");
}

Tensor cast(const Tensor& x, DType dtype) {
  static const OpDef& op = find_op("cast", "cast");
  if (x.defined() && x.dtype() == dtype) return x;
  return dispatch1(op, {x}, Attrs{{"dtype", dtype}});
}

Tensor scalar_like(double value, const Tensor& like) {
  DeviceScope on(like.device());
  return fill({}, value, like.dtype());
}

}  // namespace loom
