#pragma once
// Creating tensors: from host values, constants, ranges and seeded random numbers. New
// tensors go to the innermost DeviceScope's device, else the CPU.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "loom/dtype.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

/// Copies `nbytes` of row-major host data; `nbytes` must equal numel * dtype size
/// (InvalidArgument otherwise). For bool, any non-zero byte is true. DTypeError for an invalid
/// dtype, ShapeError for negative dimensions.
LOOM_API Tensor from_host(const void* data, size_t nbytes, const Shape& shape, DType dtype);
/// Wraps host memory as a CPU tensor without copying (DeviceScope does not apply);
/// `deleter(data, user)` is called exactly once, when the last view dies or when this call
/// fails (`deleter` may be null). Checks as from_host; bool bytes must be 0 or 1.
LOOM_API Tensor wrap_host(void* data, size_t nbytes, const Shape& shape, DType dtype,
                          void (*deleter)(void*, void*), void* user);

namespace detail {
// C++ literals map to loom's defaults: integers -> int64, floating -> float32, bool -> bool.
template <class T>
constexpr DType default_dtype_for() {
  if constexpr (std::is_same_v<T, bool>) return DType::Bool;
  else if constexpr (std::is_floating_point_v<T>) return DType::Float32;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::UInt8;
  else return DType::Int64;
}
LOOM_API Tensor constant_from_doubles(const std::vector<double>& values, const Shape& shape,
                                      DType dtype);
LOOM_API Tensor constant_from_int64s(const std::vector<int64_t>& values, const Shape& shape,
                                     DType dtype);
template <class T>
Tensor constant_from(const std::vector<T>& values, const Shape& shape, std::optional<DType> dtype) {
  const DType d = dtype.value_or(default_dtype_for<T>());
  if constexpr (std::is_integral_v<T>) {
    return constant_from_int64s(std::vector<int64_t>(values.begin(), values.end()), shape, d);
  } else {
    return constant_from_doubles(std::vector<double>(values.begin(), values.end()), shape, d);
  }
}
// Flattens nested initializer lists, checking that they are rectangular.
template <class T>
void flatten(std::initializer_list<T> list, std::vector<T>& out, Shape& shape, size_t depth) {
  if (shape.size() <= depth) shape.push_back(static_cast<int64_t>(list.size()));
  else if (shape[depth] != static_cast<int64_t>(list.size()))
    throw ShapeError("[constant] nested lists are not rectangular");
  out.insert(out.end(), list.begin(), list.end());
}
template <class T>
void flatten(std::initializer_list<std::initializer_list<T>> list, std::vector<T>& out,
             Shape& shape, size_t depth) {
  if (shape.size() <= depth) shape.push_back(static_cast<int64_t>(list.size()));
  else if (shape[depth] != static_cast<int64_t>(list.size()))
    throw ShapeError("[constant] nested lists are not rectangular");
  for (auto inner : list) flatten(inner, out, shape, depth + 1);
}
}  // namespace detail

/// A 0-d tensor holding `value`: `constant(3.5)`.
///
/// Without `dtype`, integers give int64, floating values float32, bool bool and uint8_t uint8;
/// values are converted to `dtype` when given (as for every constant overload).
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
Tensor constant(T value, std::optional<DType> dtype = {}) {
  return detail::constant_from(std::vector<T>{value}, Shape{}, dtype);
}
/// A 1-d tensor of the values: `constant({1, 2, 3})`.
template <class T>
Tensor constant(std::initializer_list<T> values, std::optional<DType> dtype = {}) {
  return detail::constant_from(std::vector<T>(values), Shape{static_cast<int64_t>(values.size())},
                               dtype);
}
/// A 2-d tensor of nested lists: `constant({{1.0, 2.0}, {3.0, 4.0}}, DType::Float64)`.
/// Ragged lists are a ShapeError.
template <class T>
Tensor constant(std::initializer_list<std::initializer_list<T>> values,
                std::optional<DType> dtype = {}) {
  std::vector<T> flat;
  Shape shape;
  detail::flatten(values, flat, shape, 0);
  return detail::constant_from(flat, shape, dtype);
}
/// A 3-d tensor of nested lists; ragged lists are a ShapeError.
template <class T>
Tensor constant(std::initializer_list<std::initializer_list<std::initializer_list<T>>> values,
                std::optional<DType> dtype = {}) {
  std::vector<T> flat;
  Shape shape{static_cast<int64_t>(values.size())};
  bool first = true;
  for (auto inner : values) {
    Shape inner_shape;
    detail::flatten(inner, flat, inner_shape, 0);
    if (first) {
      for (int64_t d : inner_shape) shape.push_back(d);
      first = false;
    } else if (Shape(shape.data() + 1, shape.size() - 1) != inner_shape) {
      throw ShapeError("[constant] nested lists are not rectangular");
    }
  }
  if (values.size() == 0) shape.push_back(0);
  return detail::constant_from(flat, shape, dtype);
}
/// Values from a flat vector, laid out in `shape` (row-major); ShapeError unless the counts match.
template <class T>
Tensor constant(const std::vector<T>& values, const Shape& shape, std::optional<DType> dtype = {}) {
  return detail::constant_from(values, shape, dtype);
}
/// A 1-d tensor of the vector's values.
template <class T>
Tensor constant(const std::vector<T>& values, std::optional<DType> dtype = {}) {
  return detail::constant_from(values, Shape{static_cast<int64_t>(values.size())}, dtype);
}

/// A tensor of `shape` filled with 0.
LOOM_API Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
/// A tensor of `shape` filled with 1.
LOOM_API Tensor ones(const Shape& shape, DType dtype = DType::Float32);
/// A tensor of `shape` filled with `value` (converted to `dtype`); ShapeError for negative
/// dimensions.
LOOM_API Tensor fill(const Shape& shape, double value, DType dtype = DType::Float32);
/// Zeros with `x`'s shape and dtype, on `x`'s device.
LOOM_API Tensor zeros_like(const Tensor& x);
/// Ones with `x`'s shape and dtype, on `x`'s device.
LOOM_API Tensor ones_like(const Tensor& x);
/// `value` with `x`'s shape and dtype, on `x`'s device.
LOOM_API Tensor fill_like(const Tensor& x, double value);

/// [start, stop) in steps of `step` (TF's tf.range); InvalidArgument for a zero step.
LOOM_API Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::Int64);
/// 0, 1, ..., limit - 1 as int64.
LOOM_API Tensor range(int64_t limit);
/// `num` evenly spaced values from start to stop, both included; `dtype` must be floating
/// (DTypeError otherwise).
LOOM_API Tensor linspace(double start, double stop, int64_t num, DType dtype = DType::Float32);
/// A rows x cols matrix with ones on the diagonal (cols defaults to rows).
LOOM_API Tensor eye(int64_t rows, std::optional<int64_t> cols = {}, DType dtype = DType::Float32);

/// Reseeds the global generator that supplies the seeds of unseeded random calls.
///
/// Random numbers come from a counter-based generator (Philox-4x32-10): a given seed gives the
/// same values on every run and every device. After set_seed(s) the sequence of unseeded calls
/// (random ops, initializers, dropout, shuffling) repeats exactly.
LOOM_API void set_seed(uint64_t seed);
/// Normal values with `mean` and `stddev`; `dtype` float32 or float64 (DTypeError otherwise).
/// Without `seed`, the global generator supplies one.
LOOM_API Tensor random_normal(const Shape& shape, double mean = 0.0, double stddev = 1.0,
                              DType dtype = DType::Float32, std::optional<uint64_t> seed = {});
/// Uniform values in [minval, maxval); `dtype` float32, float64, int32 or int64 (integer
/// bounds must be whole numbers). InvalidArgument unless minval < maxval.
LOOM_API Tensor random_uniform(const Shape& shape, double minval = 0.0, double maxval = 1.0,
                               DType dtype = DType::Float32, std::optional<uint64_t> seed = {});
/// Normal values redrawn until within two standard deviations of the mean (as TF).
LOOM_API Tensor truncated_normal(const Shape& shape, double mean = 0.0, double stddev = 1.0,
                                 DType dtype = DType::Float32, std::optional<uint64_t> seed = {});
/// Draws the seed the next unseeded random op would use (advances the global generator).
LOOM_API uint64_t next_random_seed();
/// The global generator's (seed, counter), to save and restore with a training checkpoint.
LOOM_API std::pair<uint64_t, uint64_t> random_state();
/// Restores a state returned by random_state().
LOOM_API void set_random_state(std::pair<uint64_t, uint64_t> state);

}  // namespace loom
