#pragma once
/// \file
/// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
/// a counter-based generator, so element i of a random tensor depends only on (seed, i) and CPU
/// and GPU kernels give the same values. Shared by the CPU and CUDA backends.
#include <cmath>
#include <cstdint>

#include "loom/backend/api.hpp"

/// Philox-4x32-10 counter-based random numbers, the same on every device.
namespace loom::philox {

/// 128 random bits.
struct Block {
  uint32_t w[4];  ///< Four 32-bit words.
};

/// The high and low halves of the 64-bit product a * b.
LOOM_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

/// Ten rounds over counter (c0..c3) with key (k0, k1).
LOOM_HD Block generate(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                       uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(0xD2511F53u, c0, hi0, lo0);
    mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Block{{c0, c1, c2, c3}};
}

/// The block for element `index`, attempt `attempt` (truncated normal redraws), of a seed.
LOOM_HD Block draw(uint64_t seed, uint64_t index, uint32_t attempt) {
  return generate(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), attempt, 0u,
                  static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

/// Uniform in [0, 1) from the top 24 bits of w (float).
LOOM_HD float uniform_float(uint32_t w) { return static_cast<float>(w >> 8) * 5.9604645e-08f; }
/// Uniform in [0, 1) from 53 of the 64 bits of hi:lo.
LOOM_HD double uniform_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = ((static_cast<uint64_t>(hi) << 32) | lo) >> 11;
  return static_cast<double>(bits) * 1.1102230246251565e-16;
}

/// One standard normal value per block (Box-Muller, cosine branch), in double precision.
LOOM_HD double normal(const Block& b) {
  const double u1 = 1.0 - uniform_double(b.w[0], b.w[1]);  // (0, 1]: log is finite
  const double u2 = uniform_double(b.w[2], b.w[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// A standard normal value redrawn until |z| <= 2 (TF's truncated_normal). After 64 attempts
/// (probability < 1e-80) the last value is clamped.
LOOM_HD double truncated_normal(uint64_t seed, uint64_t index) {
  double z = 0.0;
  for (uint32_t attempt = 0; attempt < 64; ++attempt) {
    z = normal(draw(seed, index, attempt));
    if (z >= -2.0 && z <= 2.0) return z;
  }
  return z < 0 ? -2.0 : 2.0;
}

}  // namespace loom::philox
