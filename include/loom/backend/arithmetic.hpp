#pragma once
/// \file
/// The integer arithmetic rules of floor_div, mod and pow, written once for every backend (CPU
/// loops and CUDA kernels call these): Python's and NumPy's rules, with results that wrap around
/// on overflow as NumPy's do. Integer division by zero and negative integer powers set `bad`,
/// which the caller turns into an error after the loop (neither CPUs nor GPUs trap on them
/// reliably).
#include <type_traits>

#include "loom/backend/api.hpp"

namespace loom::arithmetic {

/// -a with wrap-around (the most negative value stays itself), without signed overflow.
template <class T>
LOOM_HD T wrapping_negate(T a) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(U(0) - static_cast<U>(a));
}

/// floor(a / b) for integers: the quotient rounded toward minus infinity.
template <class T>
LOOM_HD T floor_div(T a, T b, bool& bad) {
  if (b == 0) {
    bad = true;
    return T(0);
  }
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return wrapping_negate(a);  // INT_MIN / -1 would trap
    T q = static_cast<T>(a / b);
    if ((a % b != 0) && ((a < 0) != (b < 0))) q = static_cast<T>(q - 1);
    return q;
  } else {
    return static_cast<T>(a / b);
  }
}

/// a - floor(a / b) * b for integers: the remainder takes the sign of b.
template <class T>
LOOM_HD T floor_mod(T a, T b, bool& bad) {
  if (b == 0) {
    bad = true;
    return T(0);
  }
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return T(0);
    T r = static_cast<T>(a % b);
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return static_cast<T>(a % b);
  }
}

/// The remainder `r` of a floating fmod(a, b) moved to the sign of b (floating mod).
template <class T>
LOOM_HD T floor_mod_of_remainder(T r, T b) {
  return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? static_cast<T>(r + b) : r;
}

/// a ** b for integers by squaring, wrapping around; b < 0 is an error for signed types.
template <class T>
LOOM_HD T power(T a, T b, bool& bad) {
  if constexpr (std::is_signed_v<T>) {
    if (b < 0) {
      bad = true;
      return T(0);
    }
  }
  using U = std::make_unsigned_t<T>;
  U result = 1, base = static_cast<U>(a);
  for (U e = static_cast<U>(b); e; e >>= 1) {
    if (e & 1) result = static_cast<U>(result * base);
    base = static_cast<U>(base * base);
  }
  return static_cast<T>(result);
}

}  // namespace loom::arithmetic
