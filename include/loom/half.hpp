#pragma once
#include <cstdint>
#include <cstring>

namespace loom {

/// IEEE binary16 storage type (DType::Float16). Conversions round to nearest even.
///
/// A storage type only: convert to float for arithmetic.
struct Half {
  uint16_t bits = 0;  ///< The raw binary16 bits.
  /// Positive zero.
  Half() = default;
  /// `value` rounded to the nearest binary16 (overflow gives infinity).
  explicit Half(float value) : bits(from_float(value)) {}
  /// The exact float value.
  explicit operator float() const { return to_float(bits); }

  /// The binary16 bits nearest to `value` (round to nearest even; NaN stays NaN).
  static uint16_t from_float(float value) {
    uint32_t x;
    std::memcpy(&x, &value, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or nan
      return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    }
    if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (abs < 0x38800000u) {  // subnormal or zero in half precision
      if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
      const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
      const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
      uint32_t half = mant >> shift;
      const uint32_t rest = mant & ((1u << shift) - 1u);
      const uint32_t halfway = 1u << (shift - 1);
      if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
      return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = ((abs - 0x38000000u) >> 13);
    const uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }

  /// The float value of binary16 bits `h` (exact, subnormals included).
  static float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0x1fu) {
      x = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
      if (mant == 0) {
        x = sign;
      } else {  // normalise a subnormal
        int e = -1;
        do {
          ++e;
          mant <<= 1;
        } while ((mant & 0x400u) == 0);
        x = sign | ((112u - e) << 23) | ((mant & 0x3ffu) << 13);
      }
    } else {
      x = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
};

/// bfloat16 storage type (DType::BFloat16): the top 16 bits of a float32.
///
/// Conversions round to nearest even. A storage type only: convert to float for arithmetic.
struct BFloat16 {
  uint16_t bits = 0;  ///< The raw bfloat16 bits.
  /// Positive zero.
  BFloat16() = default;
  /// `value` rounded to the nearest bfloat16.
  explicit BFloat16(float value) : bits(from_float(value)) {}
  /// The exact float value.
  explicit operator float() const { return to_float(bits); }

  /// The bfloat16 bits nearest to `value` (round to nearest even; NaN stays a quiet NaN).
  static uint16_t from_float(float value) {
    uint32_t x;
    std::memcpy(&x, &value, 4);
    const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    const uint32_t quiet_nan = (x >> 16) | 0x40u;
    // A select rather than an early return, so that loops of conversions vectorize.
    return static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
  /// The float value of bfloat16 bits `b` (exact).
  static float to_float(uint16_t b) {
    const uint32_t x = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
};

}  // namespace loom
