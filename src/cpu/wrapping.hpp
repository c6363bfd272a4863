#pragma once
// Integer arithmetic that wraps around (two's complement), as NumPy and TensorFlow do, computed
// in the unsigned type where C++ defines overflow. Floating types pass through unchanged.
#include <type_traits>

namespace loom::cpu {

template <class T, bool Integer = std::is_integral_v<T> && !std::is_same_v<T, bool>>
struct WrapOf {
  using type = T;
};
template <class T>
struct WrapOf<T, true> {
  using type = std::make_unsigned_t<T>;
};
template <class T>
using WrapType = typename WrapOf<T>::type;

template <class T>
T wrap_add(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
}
template <class T>
T wrap_sub(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
}
template <class T>
T wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
}
template <class T>
T wrap_neg(T a) {
  return wrap_sub(T(0), a);
}

}  // namespace loom::cpu
