#pragma once
// Shared pieces of op definitions: shape/dtype inference and gradient helpers.
#include <string>
#include <vector>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"
#include "ops/registry.hpp"

namespace loom::ops {

// Input `i` as error messages name it: its name in the op's schema ("gamma"), indexed for
// variadic inputs ("values[2]").
std::string input_name(const OpCall& call, size_t i);
// The same with its shape: "gamma (4,)".
std::string input_with_shape(const OpCall& call, size_t i);
// The broadcast shape of the inputs listed (all when empty); a ShapeError naming each of them
// with its shape otherwise.
Shape broadcast_inputs(const OpCall& call, std::vector<size_t> which = {});

// Throws DTypeError unless all inputs share a dtype.
void require_same_dtype(const OpCall& call);
void require_dtype_in(const OpCall& call, size_t input, DTypeMask allowed);

// Output = input 0's shape and dtype.
std::vector<TensorMeta> infer_same_as_input(const OpCall& call);
// Output = broadcast of all inputs, same dtype (checked).
std::vector<TensorMeta> infer_broadcast_same_dtype(const OpCall& call);
// Output = broadcast of all inputs, bool.
std::vector<TensorMeta> infer_broadcast_bool(const OpCall& call);

// Sums `grad` over the axes that broadcasting added, giving `shape` (gradient of broadcast).
Tensor sum_to(const Tensor& grad, const Shape& shape);
// Axes 0 .. rank - 2: every axis but the channels (per-channel statistics, bias gradients).
std::vector<int64_t> all_but_last_axis(int rank);
// `grad` if defined, else zeros of the given meta (for ops with several outputs).
Tensor grad_or_zeros(const Tensor& grad, const TensorMeta& meta);

// relu's gradient from dy and relu's output or input y: dy where y > 0, else 0 (the relu_grad op).
Tensor relu_grad(const Tensor& dy, const Tensor& y);

inline std::string op_prefix(const OpCall& call) { return std::string("[") + call.name() + "] "; }

// The padding / explicit_paddings attributes for a Padding of the C++ API.
Attrs padding_attrs(const Padding& padding);
// The window / strides / padding attributes of max_pool2d and avg_pool2d.
Attrs pool_attrs(const Pool2DOptions& options);

}  // namespace loom::ops
