// cast, identity and copy_into on the CPU.
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/loops.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

template <class T>
constexpr bool is_half_like = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// Float-to-integer conversion saturates (NaN -> 0) instead of invoking undefined behaviour.
template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_like<From>) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (is_half_like<To>) {
    return To(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

void cast_kernel(const OpCall& call, std::vector<Tensor>& out) {
  const Tensor& x = call.inputs[0];
  visit_all(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_all(out[0].dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      map1<To, From>(out[0], x, kCheapGrain, [](From v) { return convert<To>(v); });
    });
  });
}

// Copies by element size: the bytes are moved, never interpreted.
void copy_bytes(const Tensor& dst, const Tensor& src) {
  auto copy = [&](auto tag) {
    using T = decltype(tag);
    map1<T, T>(dst, src, kCheapGrain, [](T v) { return v; });
  };
  switch (dtype_size(src.dtype())) {
    case 1: copy(uint8_t{}); break;
    case 2: copy(uint16_t{}); break;
    case 4: copy(uint32_t{}); break;
    default: copy(uint64_t{}); break;
  }
}

void identity_kernel(const OpCall& call, std::vector<Tensor>& out) { copy_bytes(out[0], call.inputs[0]); }
void copy_into_kernel(const OpCall& call, std::vector<Tensor>&) {
  copy_bytes(call.inputs[0], call.inputs[1]);
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_cast) {
  register_kernel("cast", DeviceType::CPU, cast_kernel, kAllTypes);
  register_kernel("identity", DeviceType::CPU, identity_kernel, kAllTypes);
  register_kernel("copy_into", DeviceType::CPU, copy_into_kernel, kAllTypes);
}

}  // namespace loom::cpu
