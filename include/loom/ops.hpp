/// \file ops.hpp
/// Public ops. Each is defined once in the op registry, runs on the device chosen by the
/// dispatcher and is recorded by active gradient tapes.
///
/// Binary ops broadcast like NumPy (ShapeError when shapes do not broadcast) and need equal
/// dtypes (DTypeError otherwise, as TF); C++ scalars take the tensor's dtype. An op runs on the
/// innermost DeviceScope's device (inputs are copied there), else on its inputs' device (inputs
/// on different devices are a DeviceError). A dtype an op does not support is a DTypeError.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

/// Generic call by op name: reaches every op of the registry (the C ABI's loom_op_call).
///
/// Returns the op's outputs. NotFoundError for an unknown name; InvalidArgument for a wrong
/// input count, an unknown attribute, a missing required one or one of the wrong type.
LOOM_API std::vector<Tensor> call_op(std::string_view name, const std::vector<Tensor>& inputs,
                                     const Attrs& attrs = {});
/// Names of all ops call_op accepts, sorted.
LOOM_API std::vector<std::string> list_ops();

// ---- elementwise, binary ----
/// a + b, elementwise with broadcasting.
LOOM_API Tensor add(const Tensor& a, const Tensor& b);
/// a - b, elementwise with broadcasting.
LOOM_API Tensor sub(const Tensor& a, const Tensor& b);
/// a * b, elementwise with broadcasting.
LOOM_API Tensor mul(const Tensor& a, const Tensor& b);
/// a / b, elementwise with broadcasting. Integer inputs divide truly and give float64 (float32
/// for uint8), as TF's truediv.
LOOM_API Tensor div(const Tensor& a, const Tensor& b);
/// floor(a / b), elementwise; integer division by zero is an InvalidArgument.
LOOM_API Tensor floor_div(const Tensor& a, const Tensor& b);
/// a - floor(a / b) * b: floored, so the result has the divisor's sign. Integer division by
/// zero is an InvalidArgument.
LOOM_API Tensor mod(const Tensor& a, const Tensor& b);
/// a raised to b, elementwise; negative integer powers of integers are an InvalidArgument.
LOOM_API Tensor pow(const Tensor& a, const Tensor& b);
/// Elementwise maximum; on ties the gradient goes to `a`.
LOOM_API Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise minimum; on ties the gradient goes to `a`.
LOOM_API Tensor minimum(const Tensor& a, const Tensor& b);

// ---- elementwise, unary ----
/// -x.
LOOM_API Tensor neg(const Tensor& x);
/// |x|; the gradient is sign(x) (0 at 0).
LOOM_API Tensor abs(const Tensor& x);
/// -1, 0 or 1 by the sign of x; the gradient is 0.
LOOM_API Tensor sign(const Tensor& x);
/// e to the power x.
LOOM_API Tensor exp(const Tensor& x);
/// Natural logarithm.
LOOM_API Tensor log(const Tensor& x);
/// log(1 + x), accurate near 0.
LOOM_API Tensor log1p(const Tensor& x);
/// Square root.
LOOM_API Tensor sqrt(const Tensor& x);
/// 1 / sqrt(x).
LOOM_API Tensor rsqrt(const Tensor& x);
/// x * x.
LOOM_API Tensor square(const Tensor& x);
/// Sine.
LOOM_API Tensor sin(const Tensor& x);
/// Cosine.
LOOM_API Tensor cos(const Tensor& x);
/// Hyperbolic tangent.
LOOM_API Tensor tanh(const Tensor& x);
/// 1 / (1 + exp(-x)), numerically stable.
LOOM_API Tensor sigmoid(const Tensor& x);
/// max(x, 0); the gradient is 0 at 0.
LOOM_API Tensor relu(const Tensor& x);
/// min(max(x, lo), hi); InvalidArgument if lo > hi.
LOOM_API Tensor clip(const Tensor& x, double lo, double hi);
/// Returns x unchanged as a new, contiguous tensor; its gradient is the identity (TF's
/// tf.identity).
LOOM_API Tensor identity(const Tensor& x);
/// Converts to `dtype` (floats to integers truncate toward zero; to bool: x != 0); returns `x`
/// itself when it already has that dtype.
LOOM_API Tensor cast(const Tensor& x, DType dtype);

// ---- comparisons and logic (bool results) ----
/// a == b, elementwise with broadcasting.
LOOM_API Tensor equal(const Tensor& a, const Tensor& b);
/// a != b, elementwise with broadcasting.
LOOM_API Tensor not_equal(const Tensor& a, const Tensor& b);
/// a < b, elementwise with broadcasting.
LOOM_API Tensor less(const Tensor& a, const Tensor& b);
/// a <= b, elementwise with broadcasting.
LOOM_API Tensor less_equal(const Tensor& a, const Tensor& b);
/// a > b, elementwise with broadcasting.
LOOM_API Tensor greater(const Tensor& a, const Tensor& b);
/// a >= b, elementwise with broadcasting.
LOOM_API Tensor greater_equal(const Tensor& a, const Tensor& b);
/// a AND b on bool tensors (DTypeError for other dtypes).
LOOM_API Tensor logical_and(const Tensor& a, const Tensor& b);
/// a OR b on bool tensors (DTypeError for other dtypes).
LOOM_API Tensor logical_or(const Tensor& a, const Tensor& b);
/// NOT x on a bool tensor (DTypeError for other dtypes).
LOOM_API Tensor logical_not(const Tensor& x);
/// `condition ? x : y` elementwise, all three broadcast; `condition` must be bool and `x`, `y`
/// of one dtype (DTypeError otherwise).
LOOM_API Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y);

// ---- reductions: no axes = all axes; axes may be negative ----
/// Sum over `axes` (all axes when absent); keepdims keeps them with size 1. Out-of-range or
/// duplicate axes are an InvalidArgument (as for every reduction).
LOOM_API Tensor reduce_sum(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
/// Mean over `axes` (all when absent); integer inputs give the floored integer mean.
LOOM_API Tensor reduce_mean(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                            bool keepdims = false);
/// Maximum over `axes` (all when absent); ties share the gradient.
LOOM_API Tensor reduce_max(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
/// Minimum over `axes` (all when absent); ties share the gradient.
LOOM_API Tensor reduce_min(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
/// Product over `axes` (all when absent).
LOOM_API Tensor reduce_prod(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                            bool keepdims = false);
/// Logical AND over `axes` (all when absent) of a bool tensor.
LOOM_API Tensor reduce_all(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
/// Logical OR over `axes` (all when absent) of a bool tensor.
LOOM_API Tensor reduce_any(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
/// Index (int64) of the largest value along one axis; the first one on ties. An empty axis is
/// an InvalidArgument.
LOOM_API Tensor argmax(const Tensor& x, int64_t axis = 0, bool keepdims = false);
/// Index (int64) of the smallest value along one axis; the first one on ties.
LOOM_API Tensor argmin(const Tensor& x, int64_t axis = 0, bool keepdims = false);
/// Vector norm over `axes` (all when absent). ord: "euclidean" (L2, default), "1" (L1) or
/// "inf" (max |x|); any other is an InvalidArgument.
LOOM_API Tensor norm(const Tensor& x, std::string_view ord = "euclidean",
                     std::optional<std::vector<int64_t>> axes = {}, bool keepdims = false);

// ---- linear algebra ----
/// Matrix product, 2-D or batched (leading dims broadcast); transpose flags apply to the last
/// two dims. ShapeError for rank < 2 or inner dimensions that differ.
LOOM_API Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
                       bool transpose_b = false);

// ---- shape ----
/// Same values in a new shape; one dimension may be -1 (inferred). A view when `x` is
/// contiguous; ShapeError if the element counts differ.
LOOM_API Tensor reshape(const Tensor& x, const Shape& shape);
/// Permutes the axes (a view); the default reverses them. InvalidArgument if `perm` is not a
/// permutation of the axes.
LOOM_API Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm = {});
/// Inserts a size-1 axis at `axis` (negative counts from the end of the result).
LOOM_API Tensor expand_dims(const Tensor& x, int64_t axis);
/// Removes the given size-1 axes, or every size-1 axis when `axes` is empty; ShapeError for an
/// axis whose size is not 1.
LOOM_API Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes = {});
/// A broadcast view of `shape` (stride 0 on repeated axes); ShapeError if `x` does not
/// broadcast to it.
LOOM_API Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Joins tensors along an existing axis; the other dimensions must match (ShapeError).
LOOM_API Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
/// Joins equal-shaped tensors along a new axis (ShapeError if the shapes differ).
LOOM_API Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
/// Splits into `num` equal parts along `axis`; ShapeError if `num` does not divide it.
LOOM_API std::vector<Tensor> split(const Tensor& x, int64_t num, int64_t axis = 0);
/// Splits into parts of the given sizes along `axis` (one may be -1: the rest); ShapeError if
/// they do not add up.
LOOM_API std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes,
                                   int64_t axis);
/// Repeats `x` multiples[i] times along axis i (one entry per axis, each >= 0).
LOOM_API Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples);
/// Selects entries of `params` along `axis` by int32/int64 `indices`: the result's shape is
/// params' with that axis replaced by indices' shape. Indices out of range are an
/// InvalidArgument.
LOOM_API Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis = 0);
/// One-hot encoding along a new last axis of size `depth`: `on_value` where the integer index
/// matches, else `off_value`. Indices outside [0, depth) give an all-off row (as TF).
LOOM_API Tensor one_hot(const Tensor& indices, int64_t depth, double on_value = 1.0,
                        double off_value = 0.0, DType dtype = DType::Float32);
/// Pads with the constant `value`. paddings: one {before, after} pair per axis, each >= 0
/// (InvalidArgument otherwise).
LOOM_API Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                    double value = 0.0);

// ---- operators: call the ops above ----
/// add(a, b).
LOOM_API Tensor operator+(const Tensor& a, const Tensor& b);
/// sub(a, b).
LOOM_API Tensor operator-(const Tensor& a, const Tensor& b);
/// mul(a, b).
LOOM_API Tensor operator*(const Tensor& a, const Tensor& b);
/// div(a, b).
LOOM_API Tensor operator/(const Tensor& a, const Tensor& b);
/// mod(a, b).
LOOM_API Tensor operator%(const Tensor& a, const Tensor& b);
/// neg(x).
LOOM_API Tensor operator-(const Tensor& x);
/// add(a, scalar_like(b, a)): the scalar takes the tensor's dtype.
LOOM_API Tensor operator+(const Tensor& a, double b);
/// sub(a, scalar_like(b, a)).
LOOM_API Tensor operator-(const Tensor& a, double b);
/// mul(a, scalar_like(b, a)).
LOOM_API Tensor operator*(const Tensor& a, double b);
/// div(a, scalar_like(b, a)).
LOOM_API Tensor operator/(const Tensor& a, double b);
/// add(scalar_like(a, b), b): the scalar takes the tensor's dtype.
LOOM_API Tensor operator+(double a, const Tensor& b);
/// sub(scalar_like(a, b), b).
LOOM_API Tensor operator-(double a, const Tensor& b);
/// mul(scalar_like(a, b), b).
LOOM_API Tensor operator*(double a, const Tensor& b);
/// div(scalar_like(a, b), b).
LOOM_API Tensor operator/(double a, const Tensor& b);
/// equal(a, b): an elementwise bool tensor, not a single bool.
LOOM_API Tensor operator==(const Tensor& a, const Tensor& b);
/// not_equal(a, b), elementwise.
LOOM_API Tensor operator!=(const Tensor& a, const Tensor& b);
/// less(a, b), elementwise.
LOOM_API Tensor operator<(const Tensor& a, const Tensor& b);
/// less_equal(a, b), elementwise.
LOOM_API Tensor operator<=(const Tensor& a, const Tensor& b);
/// greater(a, b), elementwise.
LOOM_API Tensor operator>(const Tensor& a, const Tensor& b);
/// greater_equal(a, b), elementwise.
LOOM_API Tensor operator>=(const Tensor& a, const Tensor& b);
/// logical_and(a, b), elementwise (both operands are always evaluated).
LOOM_API Tensor operator&&(const Tensor& a, const Tensor& b);
/// logical_or(a, b), elementwise (both operands are always evaluated).
LOOM_API Tensor operator||(const Tensor& a, const Tensor& b);
/// logical_not(x).
LOOM_API Tensor operator!(const Tensor& x);

/// A 0-d tensor holding `value` in `like`'s dtype, on `like`'s device.
LOOM_API Tensor scalar_like(double value, const Tensor& like);

}  // namespace loom
