#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "loom/export.hpp"
#include "loom/half.hpp"

namespace loom {

// Numbers are part of the C ABI (LOOM_F32 ... ): append only.
enum class DType : int32_t {
  Float32 = 0,
  Float64 = 1,
  Int32 = 2,
  Int64 = 3,
  Bool = 4,
  UInt8 = 5,
  Float16 = 6,
  BFloat16 = 7,
};
inline constexpr int kNumDTypes = 8;

LOOM_API const char* dtype_name(DType dtype);
// Parses "float32", "int64", ... ; throws InvalidArgument naming `context` on an unknown name.
LOOM_API DType dtype_from_name(std::string_view name, std::string_view context = "dtype");
LOOM_API bool dtype_is_valid(int32_t value);

constexpr size_t dtype_size(DType d) {
  switch (d) {
    case DType::Float32: case DType::Int32: return 4;
    case DType::Float64: case DType::Int64: return 8;
    case DType::Bool: case DType::UInt8: return 1;
    case DType::Float16: case DType::BFloat16: return 2;
  }
  return 0;
}
constexpr bool is_floating(DType d) {
  return d == DType::Float32 || d == DType::Float64 || d == DType::Float16 || d == DType::BFloat16;
}
constexpr bool is_integral(DType d) {
  return d == DType::Int32 || d == DType::Int64 || d == DType::UInt8;
}

// C++ type <-> DType mapping.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

}  // namespace loom
