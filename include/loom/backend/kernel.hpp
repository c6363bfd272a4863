#pragma once
/// \file
/// Kernels: the functions a backend registers for an op of the registry on its device type,
/// and what they receive. The op's definition (inputs, attributes with their defaults, dtypes,
/// output shapes) lives in the registry: by the time a kernel runs, the dispatcher has checked
/// the inputs and attributes, filled in the attributes' defaults and allocated the outputs.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/backend/api.hpp"
#include "loom/device.hpp"
#include "loom/tensor.hpp"

namespace loom {

class OpDef;  // an op's definition in the registry (private to libloom)

/// One call of an op, as its kernel sees it.
struct LOOM_BACKEND_API OpCall {
  const OpDef& op;                    ///< The op's definition.
  const std::vector<Tensor>& inputs;  ///< The inputs, all on `device`.
  const Attrs& attrs;                 ///< The attributes, with the op's defaults filled in.
  Device device;                      ///< The device the call runs on.
  /// The op's name, for error messages ("[name] ...").
  const char* name() const;
};

/// A kernel: computes the outputs (allocated with the inferred shapes and dtypes) of a call.
/// It reports bad input by throwing a loom::Error whose message starts with "[op name]".
using KernelFn = void (*)(const OpCall& call, std::vector<Tensor>& outputs);

/// A set of dtypes: bit i set = DType i.
using DTypeMask = uint32_t;
/// The mask of the listed dtypes.
constexpr DTypeMask mask_of(std::initializer_list<DType> dtypes) {
  DTypeMask m = 0;
  for (DType d : dtypes) m |= 1u << static_cast<int>(d);
  return m;
}
/// float32 and float64.
inline constexpr DTypeMask kFloatTypes = mask_of({DType::Float32, DType::Float64});
/// float16 and bfloat16: storage everywhere, compute where a backend's kernel accepts them.
inline constexpr DTypeMask kHalfTypes = mask_of({DType::Float16, DType::BFloat16});
/// int32, int64 and uint8.
inline constexpr DTypeMask kIntTypes = mask_of({DType::Int32, DType::Int64, DType::UInt8});
/// float32, float64, int32 and int64.
inline constexpr DTypeMask kSignedNumeric = kFloatTypes | mask_of({DType::Int32, DType::Int64});
/// float32, float64, int32, int64 and uint8.
inline constexpr DTypeMask kNumeric = kFloatTypes | kIntTypes;
/// bool alone.
inline constexpr DTypeMask kBoolType = mask_of({DType::Bool});
/// Every dtype.
inline constexpr DTypeMask kAllTypes = (1u << kNumDTypes) - 1;
/// The dtypes of a mask as text ("float32, float64"; "none" for an empty mask).
LOOM_BACKEND_API std::string mask_names(DTypeMask mask);

/// Registers `fn` as the kernel of the op called `op` on `device`, for the op's dtypes.
/// InternalError when no op of that name is defined (checked immediately for a backend loaded
/// at run time; at the first op lookup for kernels registered while libloom loads).
LOOM_BACKEND_API void register_kernel(std::string_view op, DeviceType device, KernelFn fn);
/// Same, for the dtypes of `dtypes` only (of input 0, or of output 0 for ops without inputs),
/// which must be some of the op's own: a kernel may narrow its op's dtypes, never widen them
/// (InternalError). Where a kernel declines a dtype the op's fallback runs, if it has one.
LOOM_BACKEND_API void register_kernel(std::string_view op, DeviceType device, KernelFn fn, DTypeMask dtypes);

/// For a kernel that accepts a 16-bit float dtype but declines this call (a case its library
/// lacks): runs `kernel` in float32 on widened copies of the call's inputs of that dtype and
/// rounds its outputs back into `outputs` (sums and products then accumulate in float32).
LOOM_BACKEND_API void run_kernel_widened(KernelFn kernel, const OpCall& call, std::vector<Tensor>& outputs);

namespace ops {

/// Writes `src` into the (possibly strided) view `dst` of the same shape and dtype on the same
/// device, as an op (so every backend's copy kernel runs it). Kernels written in terms of other
/// ops use it to fill their outputs. Not differentiable.
LOOM_BACKEND_API void copy_into(const Tensor& dst, const Tensor& src);

/// The "axes" attribute of reductions, normalised, sorted and unique; all axes when absent.
LOOM_BACKEND_API std::vector<int> reduction_axes(const Attrs& attrs, int rank, const char* op);
/// The shape `in` reduced over `axes` (kept as size 1 with keepdims).
LOOM_BACKEND_API Shape reduced_shape(const Shape& in, const std::vector<int>& axes, bool keepdims);

/// Whether an op can apply this activation to its own output ("linear", "relu", "sigmoid",
/// "tanh": each one's derivative is a function of its output).
LOOM_BACKEND_API bool fusable_activation(const std::string& activation);
/// The call's "activation" attribute; InvalidArgument naming the op when it is not fusable.
LOOM_BACKEND_API std::string fused_activation(const OpCall& call);

}  // namespace ops
}  // namespace loom

/// Registers kernels while the library that holds them loads:
/// `LOOM_REGISTER_KERNELS(cpu_conv) { register_kernel("conv2d", DeviceType::CPU, conv2d_kernel); }`.
/// For kernels built into libloom; a plugin registers from its init function instead, where a
/// refused registration can be reported rather than end the process.
#define LOOM_REGISTER_KERNELS(tag)                                      \
  static void loom_register_kernels_##tag();                            \
  namespace {                                                           \
  const bool loom_kernels_registered_##tag = (loom_register_kernels_##tag(), true); \
  }                                                                     \
  static void loom_register_kernels_##tag()
