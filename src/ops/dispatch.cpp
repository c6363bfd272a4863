// The only path from an op call to a kernel: pick the device, validate, infer outputs,
// allocate, run the kernel, record on active tapes.
#include <string>

#include "ops/recording.hpp"
#include "core/op_device_scope.hpp"
#include "core/thread_budget.hpp"
#include "loom/autocast.hpp"
#include "loom/backend/backend.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "ops/registry.hpp"

namespace loom {
namespace {

void check_inputs(const OpDef& op, const std::vector<Tensor>& inputs) {
  const int n = static_cast<int>(inputs.size());
  if (n < op.min_inputs || (op.max_inputs >= 0 && n > op.max_inputs)) {
    std::string expected = std::to_string(op.min_inputs);
    if (op.max_inputs != op.min_inputs) {
      expected += op.max_inputs < 0 ? " or more" : " to " + std::to_string(op.max_inputs);
    }
    throw InvalidArgument("[" + op.name + "] expects " + expected + " input" +
                          (op.min_inputs == 1 && op.max_inputs == 1 ? "" : "s") + ", got " +
                          std::to_string(n));
  }
  for (int i = 0; i < n; ++i) {
    const Tensor& x = inputs[static_cast<size_t>(i)];
    if (!x.defined()) {
      throw InvalidArgument("[" + op.name + "] input " + std::to_string(i) + " ('" + op.input(static_cast<size_t>(i)).name +
                            "') is an empty tensor handle");
    }
    // The op's own dtypes, the same on every device; a device may accept fewer (kernel_for).
    const InputSpec& spec = op.input(static_cast<size_t>(i));
    if (!(spec.dtypes & (1u << static_cast<int>(x.dtype())))) {
      throw DTypeError("[" + op.name + "] input " + std::to_string(i) + " ('" + spec.name + "') has dtype " + dtype_name(x.dtype()) + ", which " + op.name +
                       " does not support (supported: " + mask_names(spec.dtypes) + ")");
    }
  }
}

// The call's attributes with the op's defaults filled in for those it omits.
const Attrs& with_defaults(const OpDef& op, const Attrs& attrs, Attrs& storage) {
  const auto& defaults = op.defaults.items();
  size_t i = 0;
  while (i < defaults.size() && attrs.has(defaults[i].first)) ++i;
  if (i == defaults.size()) return attrs;
  storage = attrs;
  for (; i < defaults.size(); ++i) {
    if (!storage.has(defaults[i].first)) storage.set(defaults[i].first, defaults[i].second);
  }
  return storage;
}

// Unknown names, wrong types and missing required attributes fail here, once for all backends.
void check_attrs(const OpDef& op, const Attrs& attrs) {
  for (const auto& [name, value] : attrs.items()) {
    const AttrSpec* spec = op.find_attr(name);
    if (!spec) {
      std::string accepted;
      for (const AttrSpec& s : op.attrs) accepted += (accepted.empty() ? "" : ", ") + s.name;
      throw InvalidArgument("[" + op.name + "] unknown attribute '" + name + "' (accepted: " +
                            (accepted.empty() ? "none" : accepted) + ")");
    }
    const char* n = op.name.c_str();
    switch (spec->type) {
      case AttrType::Int: attrs.get_int(name, n); break;
      case AttrType::Float: attrs.get_float(name, n); break;
      case AttrType::Bool: attrs.get_bool(name, n); break;
      case AttrType::String: attrs.get_string(name, n); break;
      case AttrType::IntList: attrs.get_ints(name, n); break;
      case AttrType::FloatList: attrs.get_floats(name, n); break;
      case AttrType::DType: attrs.get_dtype(name, n); break;
    }
  }
  for (const AttrSpec& spec : op.attrs) {
    if (spec.required && !attrs.has(spec.name)) {
      throw InvalidArgument("[" + op.name + "] missing required attribute '" + spec.name + "' (" +
                            attr_type_name(spec.type) + ")");
    }
  }
}

// The innermost DeviceScope wins (inputs elsewhere are copied there); else the inputs' common
// device; else the CPU. Returns the inputs to use (copied when needed).
Device place(const OpDef& op, const std::vector<Tensor>& inputs, std::vector<Tensor>& moved) {
  Device scope;
  if (!op.ignores_device_scope && current_device_scope(&scope)) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].device() != scope) {
        if (moved.empty()) moved = inputs;
        moved[i] = inputs[i].to(scope);
      }
    }
    return scope;
  }
  if (inputs.empty()) return Device::cpu();
  const Device first = inputs[0].device();
  for (size_t i = 1; i < inputs.size(); ++i) {
    const Device d = inputs[i].device();
    if (d != first) {
      throw DeviceError("[" + op.name + "] inputs are on different devices: input 0 on " +
                        first.str() + ", input " + std::to_string(i) + " on " + d.str() +
                        "; copy with .to() or pin the op with DeviceScope");
    }
  }
  return first;
}

bool has_kernel(const OpDef& op, Device device, DType dtype) {
  const KernelEntry& k = op.kernels[static_cast<size_t>(device.type)];
  return k.fn && (k.dtypes & (1u << static_cast<int>(dtype)));
}

const KernelEntry& kernel_for(const OpDef& op, Device device, DType dtype) {
  const KernelEntry& k = op.kernels[static_cast<size_t>(device.type)];
  if (!k.fn) {
    throw UnimplementedError("[" + op.name + "] has no " +
                             (device.type == DeviceType::CPU ? "CPU" : "CUDA") + " kernel");
  }
  if (!(k.dtypes & (1u << static_cast<int>(dtype)))) {
    throw DTypeError("[" + op.name + "] does not support dtype " + dtype_name(dtype) + " on " +
                     device.str() + " (supported: " + mask_names(k.dtypes) + ")");
  }
  return k;
}

std::vector<Tensor> run_on(const KernelEntry& k, const OpCall& call, const std::vector<TensorMeta>& metas) {
  std::vector<Tensor> outputs;
  outputs.reserve(metas.size());
  for (const TensorMeta& m : metas) {
    outputs.push_back(empty(m.shape, m.dtype, call.device, call.name()));
  }
  k.fn(call, outputs);
  return outputs;
}

// The inputs of dtype `half` cast to float32, the others as they are.
std::vector<Tensor> widened_inputs(const std::vector<Tensor>& inputs, DType half) {
  std::vector<Tensor> wide = inputs;
  for (Tensor& x : wide) {
    if (x.dtype() == half) x = cast(x, DType::Float32);
  }
  return wide;
}

// Where a device has no kernel for a 16-bit float dtype but one for float32, the call runs in
// float32: inputs of that dtype are widened and outputs narrowed back, so that sums and
// products accumulate in float32 (as mixed-precision training expects of such ops).
// (run_kernel_widened, below, does the same for a kernel that declines a 16-bit call.)
std::vector<Tensor> run_widened(const OpCall& call, const std::vector<TensorMeta>& metas, DType half) {
  const std::vector<Tensor> wide = widened_inputs(call.inputs, half);
  const OpCall wide_call{call.op, wide, call.attrs, call.device};
  std::vector<Tensor> outputs = run_on(kernel_for(call.op, call.device, DType::Float32), wide_call, call.op.infer(wide_call));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (metas[i].dtype == half) outputs[i] = cast(outputs[i], half);
  }
  return outputs;
}

// Whether a 16-bit call runs on the device's float32 kernel (run_widened): it has none of its
// own dtype. This comes before an op's composite fallback, whose inner ops would each round to
// 16 bits (and run slower: batch norm's gradient took 9x its widened time).
bool runs_widened(const OpDef& op, Device device, DType dtype) {
  return is_half(dtype) && !has_kernel(op, device, dtype) && has_kernel(op, device, DType::Float32);
}

std::vector<Tensor> run_kernel(const OpCall& call) {
  std::vector<TensorMeta> metas = call.op.infer(call);
  const DType dtype = call.inputs.empty() ? metas[0].dtype : call.inputs[0].dtype();
  if (call.inputs.empty() && !(call.op.output_dtypes & (1u << static_cast<int>(dtype)))) {
    throw DTypeError("[" + call.op.name + "] cannot make dtype " + dtype_name(dtype) + " (supported: " +
                     mask_names(call.op.output_dtypes) + ")");
  }
  detail::RecordingPause pause;  // ops a kernel calls internally are not part of any gradient
  if (!call.inputs.empty() && runs_widened(call.op, call.device, dtype)) {
    return run_widened(call, metas, dtype);
  }
  return run_on(kernel_for(call.op, call.device, dtype), call, metas);
}

// Inside an AutocastScope, an op that reads a float32 variable runs in the scope's dtype: its
// float32 inputs (the variable, and constants made in the variable's dtype beside it) are cast
// (loom/autocast.hpp).
void autocast_variables(const OpDef& op, const std::vector<Tensor>& inputs, std::vector<Tensor>& moved) {
  if (op.reads_variables_exactly || op.kind == OpKind::InPlace) return;
  const std::optional<DType> to = autocast_dtype();
  if (!to) return;
  const std::vector<Tensor>& now = moved.empty() ? inputs : moved;
  bool reads_variable = false;
  for (const Tensor& x : now) reads_variable = reads_variable || (x.dtype() == DType::Float32 && x.impl()->variable);
  if (!reads_variable) return;
  if (moved.empty()) moved = inputs;
  for (Tensor& x : moved) {
    if (x.dtype() == DType::Float32) x = cast(x, *to);
  }
}

}  // namespace

void run_kernel_widened(KernelFn kernel, const OpCall& call, std::vector<Tensor>& outputs) {
  DType half = DType::Float32;
  for (const Tensor& y : outputs) {
    if (is_half(y.dtype())) half = y.dtype();
  }
  const std::vector<Tensor> inputs = widened_inputs(call.inputs, half);
  std::vector<Tensor> wide;
  for (const Tensor& y : outputs) wide.push_back(y.dtype() == half ? empty(y.shape(), DType::Float32, y.device(), call.name()) : y);
  kernel(OpCall{call.op, inputs, call.attrs, call.device}, wide);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].dtype() == half) ops::copy_into(outputs[i], cast(wide[i], half));
  }
}

std::vector<Tensor> dispatch(const OpDef& op, const std::vector<Tensor>& inputs,
                             const Attrs& given_attrs) {
  check_inputs(op, inputs);
  if (!given_attrs.empty() || !op.attrs.empty()) check_attrs(op, given_attrs);
  Attrs storage;
  const Attrs& attrs = with_defaults(op, given_attrs, storage);
  std::vector<Tensor> moved;
  const Device device = place(op, inputs, moved);
  autocast_variables(op, inputs, moved);
  const std::vector<Tensor>& args = moved.empty() ? inputs : moved;
  if (device.is_cpu()) detail::sync_thread_settings();
  const OpCall call{op, args, attrs, device};

  // No kernel on this device for this dtype: the op's reference in terms of other ops, whose
  // inner ops are dispatched (and recorded) one by one.
  if (op.fallback && op.kind == OpKind::Kernel) {
    const DType dtype = args.empty() ? attrs.get_dtype("dtype", op.name.c_str()) : args[0].dtype();
    if (!has_kernel(op, device, dtype) && !(!args.empty() && runs_widened(op, device, dtype))) return op.fallback(call);
  }

  std::vector<Tensor> outputs;
  switch (op.kind) {
    case OpKind::Composite:
      return op.forward(call);  // its inner ops are dispatched (and recorded) one by one
    case OpKind::InPlace: {  // the kernel writes into inputs[0]
      detail::OpDeviceScope on(device);
      std::vector<Tensor> none;
      kernel_for(op, device, args[0].dtype()).fn(call, none);
      return none;
    }
    case OpKind::Forward: {
      detail::RecordingPause pause;
      detail::OpDeviceScope on(device);
      outputs = op.forward(call);
      break;
    }
    case OpKind::Kernel: {
      detail::OpDeviceScope on(device);
      outputs = run_kernel(call);
      break;
    }
  }
  if ((op.grad || op.grad_through_fallback) && detail::should_record()) detail::record_op(op, attrs, args, outputs);
  return outputs;
}

std::vector<Tensor> call_op(std::string_view name, const std::vector<Tensor>& inputs,
                            const Attrs& attrs) {
  const OpDef& op = find_op(name, "call_op");
  if (op.internal) {
    throw NotFoundError("[call_op] op '" + std::string(name) + "' is internal to loom");
  }
  return dispatch(op, inputs, attrs);
}

namespace ops {

void copy_into(const Tensor& dst, const Tensor& src) {
  static const OpDef& op = find_op("copy_into", "copy_into");
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype()) {
    throw InternalError("[copy_into] destination " + dst.shape().str() + " " +
                        dtype_name(dst.dtype()) + " does not match source " + src.shape().str() +
                        " " + dtype_name(src.dtype()));
  }
  // Overlapping source and destination (a variable assigned from itself) go through a copy.
  const bool aliased = src.impl()->storage.get() == dst.impl()->storage.get();
  dispatch(op, {dst, aliased ? src.clone() : src}, {});
}

}  // namespace ops
}  // namespace loom
