#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "loom/export.hpp"
#include "loom/half.hpp"

namespace loom {

/// Element types. The numbers are part of the C ABI (LOOM_F32 ...): append only.
enum class DType : int32_t {
  Float32 = 0,   ///< IEEE 32-bit float (`float`); the default dtype.
  Float64 = 1,   ///< IEEE 64-bit float (`double`).
  Int32 = 2,     ///< 32-bit signed integer.
  Int64 = 3,     ///< 64-bit signed integer; the default for integer literals and indices.
  Bool = 4,      ///< Boolean, one byte holding 0 or 1.
  UInt8 = 5,     ///< 8-bit unsigned integer.
  Float16 = 6,   ///< IEEE binary16 (loom::Half).
  BFloat16 = 7,  ///< bfloat16 (loom::BFloat16).
};
/// Number of dtypes: valid DType values are 0 to kNumDTypes - 1.
inline constexpr int kNumDTypes = 8;

/// The dtype's name: "float32", "float64", "int32", "int64", "bool", "uint8", "float16",
/// "bfloat16" ("invalid" for a value outside the enum).
LOOM_API const char* dtype_name(DType dtype);
/// Parses a dtype_name() (also "float", "double", "half"); throws InvalidArgument naming
/// `context` on an unknown name.
LOOM_API DType dtype_from_name(std::string_view name, std::string_view context = "dtype");
/// Whether `value` is the number of a DType (0 to kNumDTypes - 1).
LOOM_API bool dtype_is_valid(int32_t value);

/// Size of one element in bytes.
constexpr size_t dtype_size(DType d) {
  switch (d) {
    case DType::Float32: case DType::Int32: return 4;
    case DType::Float64: case DType::Int64: return 8;
    case DType::Bool: case DType::UInt8: return 1;
    case DType::Float16: case DType::BFloat16: return 2;
  }
  return 0;
}
/// Whether the dtype is a floating type (float32, float64, float16, bfloat16).
constexpr bool is_floating(DType d) {
  return d == DType::Float32 || d == DType::Float64 || d == DType::Float16 || d == DType::BFloat16;
}
/// Whether the dtype is a 16-bit floating type (float16, bfloat16).
constexpr bool is_half(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
/// Whether the dtype is an integer type (int32, int64, uint8; not bool).
constexpr bool is_integral(DType d) {
  return d == DType::Int32 || d == DType::Int64 || d == DType::UInt8;
}

/// The DType of C++ type T, in `value`; defined only for the eight element types.
template <class T> struct dtype_of;
/// `float` is DType::Float32.
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; /**< Float32. */ };
/// `double` is DType::Float64.
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; /**< Float64. */ };
/// `int32_t` is DType::Int32.
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; /**< Int32. */ };
/// `int64_t` is DType::Int64.
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; /**< Int64. */ };
/// `bool` is DType::Bool.
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; /**< Bool. */ };
/// `uint8_t` is DType::UInt8.
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; /**< UInt8. */ };
/// loom::Half is DType::Float16.
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; /**< Float16. */ };
/// loom::BFloat16 is DType::BFloat16.
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; /**< BFloat16. */ };
/// Shorthand for `dtype_of<T>::value`.
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

}  // namespace loom
