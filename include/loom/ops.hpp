#pragma once
// Public ops. Each is defined once in the op registry (src/ops/), runs on the device chosen by
// the dispatcher and is recorded by active gradient tapes. Binary ops broadcast like NumPy and
// need equal dtypes (as TF); C++ scalars take the tensor's dtype.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

// Generic call by op name: reaches every op of the registry (the C ABI's loom_op_call).
LOOM_API std::vector<Tensor> call_op(std::string_view name, const std::vector<Tensor>& inputs,
                                     const Attrs& attrs = {});
// Names of all registered ops, sorted.
LOOM_API std::vector<std::string> list_ops();

// ---- elementwise, binary ----
LOOM_API Tensor add(const Tensor& a, const Tensor& b);
LOOM_API Tensor sub(const Tensor& a, const Tensor& b);
LOOM_API Tensor mul(const Tensor& a, const Tensor& b);
// Integer inputs divide truly and give float64 (float32 for uint8), as TF's truediv.
LOOM_API Tensor div(const Tensor& a, const Tensor& b);
LOOM_API Tensor floor_div(const Tensor& a, const Tensor& b);
LOOM_API Tensor mod(const Tensor& a, const Tensor& b);  // floored: result has the divisor's sign
LOOM_API Tensor pow(const Tensor& a, const Tensor& b);
LOOM_API Tensor maximum(const Tensor& a, const Tensor& b);
LOOM_API Tensor minimum(const Tensor& a, const Tensor& b);

// ---- elementwise, unary ----
LOOM_API Tensor neg(const Tensor& x);
LOOM_API Tensor abs(const Tensor& x);
LOOM_API Tensor sign(const Tensor& x);
LOOM_API Tensor exp(const Tensor& x);
LOOM_API Tensor log(const Tensor& x);
LOOM_API Tensor log1p(const Tensor& x);
LOOM_API Tensor sqrt(const Tensor& x);
LOOM_API Tensor rsqrt(const Tensor& x);
LOOM_API Tensor square(const Tensor& x);
LOOM_API Tensor sin(const Tensor& x);
LOOM_API Tensor cos(const Tensor& x);
LOOM_API Tensor tanh(const Tensor& x);
LOOM_API Tensor sigmoid(const Tensor& x);
LOOM_API Tensor relu(const Tensor& x);
LOOM_API Tensor clip(const Tensor& x, double lo, double hi);
// Returns x unchanged as a new tensor; its gradient is the identity (TF's tf.identity).
LOOM_API Tensor identity(const Tensor& x);
LOOM_API Tensor cast(const Tensor& x, DType dtype);

// ---- comparisons and logic (bool results) ----
LOOM_API Tensor equal(const Tensor& a, const Tensor& b);
LOOM_API Tensor not_equal(const Tensor& a, const Tensor& b);
LOOM_API Tensor less(const Tensor& a, const Tensor& b);
LOOM_API Tensor less_equal(const Tensor& a, const Tensor& b);
LOOM_API Tensor greater(const Tensor& a, const Tensor& b);
LOOM_API Tensor greater_equal(const Tensor& a, const Tensor& b);
LOOM_API Tensor logical_and(const Tensor& a, const Tensor& b);
LOOM_API Tensor logical_or(const Tensor& a, const Tensor& b);
LOOM_API Tensor logical_not(const Tensor& x);
LOOM_API Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y);

// ---- reductions: no axes = all axes; axes may be negative ----
LOOM_API Tensor reduce_sum(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
LOOM_API Tensor reduce_mean(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                            bool keepdims = false);
LOOM_API Tensor reduce_max(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
LOOM_API Tensor reduce_min(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
LOOM_API Tensor reduce_prod(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                            bool keepdims = false);
LOOM_API Tensor reduce_all(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
LOOM_API Tensor reduce_any(const Tensor& x, std::optional<std::vector<int64_t>> axes = {},
                           bool keepdims = false);
// Index (int64) of the largest / smallest value along one axis; first one on ties.
LOOM_API Tensor argmax(const Tensor& x, int64_t axis = 0, bool keepdims = false);
LOOM_API Tensor argmin(const Tensor& x, int64_t axis = 0, bool keepdims = false);
// ord: "euclidean" (L2, default), "1" (L1) or "inf" (max |x|).
LOOM_API Tensor norm(const Tensor& x, std::string_view ord = "euclidean",
                     std::optional<std::vector<int64_t>> axes = {}, bool keepdims = false);

// ---- linear algebra ----
// 2-D or batched (leading dims broadcast); transpose flags apply to the last two dims.
LOOM_API Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
                       bool transpose_b = false);

// ---- shape ----
LOOM_API Tensor reshape(const Tensor& x, const Shape& shape);
LOOM_API Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm = {});
LOOM_API Tensor expand_dims(const Tensor& x, int64_t axis);
LOOM_API Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes = {});
LOOM_API Tensor broadcast_to(const Tensor& x, const Shape& shape);
LOOM_API Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
LOOM_API Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
// Splits into `num` equal parts along `axis`.
LOOM_API std::vector<Tensor> split(const Tensor& x, int64_t num, int64_t axis = 0);
// Splits into parts of the given sizes (one may be -1: the rest).
LOOM_API std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes,
                                   int64_t axis);
LOOM_API Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples);
LOOM_API Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis = 0);
LOOM_API Tensor one_hot(const Tensor& indices, int64_t depth, double on_value = 1.0,
                        double off_value = 0.0, DType dtype = DType::Float32);
// paddings: one {before, after} pair per axis; mode "constant" only fills with `value`.
LOOM_API Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                    double value = 0.0);

// ---- operators: call the ops above ----
LOOM_API Tensor operator+(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator-(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator*(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator/(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator%(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator-(const Tensor& x);
LOOM_API Tensor operator+(const Tensor& a, double b);
LOOM_API Tensor operator-(const Tensor& a, double b);
LOOM_API Tensor operator*(const Tensor& a, double b);
LOOM_API Tensor operator/(const Tensor& a, double b);
LOOM_API Tensor operator+(double a, const Tensor& b);
LOOM_API Tensor operator-(double a, const Tensor& b);
LOOM_API Tensor operator*(double a, const Tensor& b);
LOOM_API Tensor operator/(double a, const Tensor& b);
LOOM_API Tensor operator==(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator!=(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator<(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator<=(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator>(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator>=(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator&&(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator||(const Tensor& a, const Tensor& b);
LOOM_API Tensor operator!(const Tensor& x);

// A 0-d tensor holding `value` in `like`'s dtype, on `like`'s device.
LOOM_API Tensor scalar_like(double value, const Tensor& like);

}  // namespace loom
