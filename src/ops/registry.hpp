#pragma once
// The op registry: one definition per op (name, inputs, attributes, shape/dtype inference,
// gradient), plus the kernels each backend registers for it. See ARCHITECTURE.md.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/internal_api.hpp"
#include "loom/attrs.hpp"
#include "loom/backend/kernel.hpp"
#include "loom/tensor.hpp"

namespace loom {

struct TensorMeta {
  TensorMeta() = default;
  TensorMeta(Shape shape_, DType dtype_, Device device_ = Device())
      : shape(std::move(shape_)), dtype(dtype_), device(device_) {}
  Shape shape;
  DType dtype = DType::Float32;
  Device device;  // filled in where the tensor exists (the tape); inference leaves the default
};

// What a gradient function receives. `grads` holds one tensor per output (undefined where no
// gradient reached that output). Inputs/outputs are the forward call's (undefined when the op
// declared that it does not need them); `needs[i]` tells whether input i wants a gradient.
struct LOOM_INTERNAL_API GradCall {
  const OpDef& op;
  const Attrs& attrs;
  const std::vector<Tensor>& inputs;
  const std::vector<TensorMeta>& input_metas;
  const std::vector<Tensor>& outputs;
  const std::vector<Tensor>& grads;
  const std::vector<bool>& needs;
  const char* name() const;
};

using InferFn = std::vector<TensorMeta> (*)(const OpCall&);
using ForwardFn = std::vector<Tensor> (*)(const OpCall&);
using GradFn = std::vector<Tensor> (*)(const GradCall&);

enum class OpKind {
  Kernel,     // inference + a kernel per device
  Forward,    // device-independent forward (views, copies), recorded as one op
  Composite,  // built from other public ops; they are recorded, not this op
  InPlace,    // internal: writes into inputs[0] (copy_into); never recorded
};

// An attribute of an op: its name and type, and either required or optional. An optional one
// may have a default, which the dispatcher fills in before inference, kernels and gradients see
// the call, so that a default is written once, here; without a default, absence has a meaning
// of its own (reduce over all axes, draw a random seed).
struct AttrSpec {
  std::string name;
  AttrType type;
  bool required = false;
  std::optional<AttrValue> default_value;
};

// One input of an op: its name (in schemas and messages) and the dtypes it accepts.
struct InputSpec {
  std::string name;
  DTypeMask dtypes = kAllTypes;
};

struct KernelEntry {
  KernelFn fn = nullptr;
  DTypeMask dtypes = 0;  // accepted dtypes of input 0 (of output 0 for ops without inputs)
};

class LOOM_INTERNAL_API OpDef {
 public:
  std::string name;
  std::string doc;
  OpKind kind = OpKind::Kernel;
  int min_inputs = 0;
  int max_inputs = 0;  // -1: any number
  // Named inputs: min_inputs required ones, then optional ones up to max_inputs; a variadic op
  // has one spec that every input follows.
  std::vector<InputSpec> input_specs;
  std::vector<std::string> outputs{"output"};
  bool variadic_outputs = false;  // any number of outputs named outputs[0] (split)
  // The op's dtypes: those of output 0 for ops without inputs (creation ops; from their dtype
  // attribute), and what inputs declared after dtypes() accept.
  DTypeMask output_dtypes = kAllTypes;
  std::vector<AttrSpec> attrs;
  Attrs defaults;  // every attribute's default, filled in when a call omits it
  InferFn infer = nullptr;
  ForwardFn forward = nullptr;
  // The op in terms of other ops, run where a device has no kernel for the call's dtype: a
  // device kernel is an optimisation of this reference, which exists once.
  ForwardFn fallback = nullptr;
  GradFn grad = nullptr;
  // No gradient function: the gradient is that of the fallback, which the autograd layer
  // differentiates (for ops whose fallback is their clearest derivative, e.g. batch_norm_grad).
  bool grad_through_fallback = false;
  uint32_t nondiff_inputs = 0;  // bit i: input i never gets a gradient (indices, conditions)
  bool saves_inputs = true;     // the gradient reads the forward inputs
  bool saves_outputs = false;   // the gradient reads the forward outputs
  bool internal = false;        // not reachable through call_op / the C ABI
  bool composite_differentiable = true;  // a Composite whose result has no gradient sets false
  bool ignores_device_scope = false;     // copy_to_device: its target is an attribute
  bool reads_variables_exactly = false;  // cast, copies: never autocast (loom/autocast.hpp)
  std::array<KernelEntry, 2> kernels;  // by DeviceType

  bool differentiable() const {
    return grad != nullptr || grad_through_fallback || (kind == OpKind::Composite && composite_differentiable);
  }
  const AttrSpec* find_attr(std::string_view attr) const;
  const InputSpec& input(size_t index) const;  // the spec input `index` follows
  // The dtypes every device accepts for this op: input 0's (output 0's without inputs).
  DTypeMask dtypes() const { return input_specs.empty() ? output_dtypes : input_specs[0].dtypes; }
};

// Fluent definition used by the op files:
//   define_op("add").inputs({"a", "b"}).dtypes(kNumeric | kHalfTypes).infer(f).grad(g).doc("...");
class LOOM_INTERNAL_API OpBuilder {
 public:
  explicit OpBuilder(OpDef& def) : def_(def) {}
  OpBuilder& inputs(std::initializer_list<const char*> names);           // required, in order
  OpBuilder& optional_inputs(std::initializer_list<const char*> names);  // after the required ones
  OpBuilder& variadic_input(const char* name, int min_count = 1);        // any number of one kind
  // Accepted dtypes of every input (and of the output of ops without inputs) ...
  OpBuilder& dtypes(DTypeMask mask);
  // ... or of one input (indices, conditions), after dtypes().
  OpBuilder& input_dtypes(int index, DTypeMask mask);
  OpBuilder& outputs(std::initializer_list<const char*> names);
  OpBuilder& variadic_outputs(const char* name);
  OpBuilder& attr(std::string name, AttrType type, bool required = false);
  OpBuilder& attr(std::string name, AttrValue default_value);  // optional, with this default
  OpBuilder& infer(InferFn f);
  OpBuilder& forward(ForwardFn f, OpKind kind = OpKind::Forward);
  OpBuilder& composite(ForwardFn f) { return forward(f, OpKind::Composite); }
  OpBuilder& fallback(ForwardFn f);
  OpBuilder& in_place();  // the backends' kernels write into input 0
  OpBuilder& grad(GradFn f);
  OpBuilder& grad_through_fallback();  // differentiate the fallback instead of a gradient function
  OpBuilder& nondiff(std::initializer_list<int> inputs);
  OpBuilder& saves(bool inputs, bool outputs);
  OpBuilder& internal();
  OpBuilder& no_gradient();  // a composite whose output is not differentiable (one_hot, eye)
  OpBuilder& ignores_device_scope();
  OpBuilder& reads_variables_exactly();  // its inputs are never autocast
  OpBuilder& doc(std::string text);

 private:
  OpDef& def_;
};

LOOM_INTERNAL_API OpBuilder define_op(std::string_view name);
// Throws NotFoundError naming `context` when no op has this name.
LOOM_INTERNAL_API const OpDef& find_op(std::string_view name, const char* context = "call_op");
LOOM_INTERNAL_API const OpDef* try_find_op(std::string_view name);
LOOM_INTERNAL_API std::vector<const OpDef*> all_ops();

// Runs an op through the dispatcher: picks the device, validates, infers, allocates, runs the
// kernel and records on active tapes.
LOOM_INTERNAL_API std::vector<Tensor> dispatch(const OpDef& op, const std::vector<Tensor>& inputs,
                                      const Attrs& attrs);
inline Tensor dispatch1(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  std::vector<Tensor> outputs = dispatch(op, inputs, attrs);
  return std::move(outputs[0]);  // a move: no reference-count round trip
}


}  // namespace loom

// Registers definitions at load time: LOOM_REGISTER_OPS(elementwise) { define_op(...)...; }
#define LOOM_REGISTER_OPS(tag)                                   \
  static void loom_register_##tag();                             \
  namespace {                                                    \
  const bool loom_registered_##tag = (loom_register_##tag(), true); \
  }                                                              \
  static void loom_register_##tag()
