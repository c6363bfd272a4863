#pragma once
// Turns a fuzzer's bytes into choices (integers in a range, booleans, floats, byte strings),
// reading from the front; once the bytes run out every choice is its lowest value.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace loom::fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint64_t bits(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes && pos_ < size_; ++i) v = (v << 8) | data_[pos_++];
    return v;
  }
  // An integer in [lo, hi].
  int64_t integer(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    const int bytes = span <= 256 ? 1 : span <= 65536 ? 2 : 8;
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + (span ? bits(bytes) % span : bits(bytes)));
  }
  bool flag() { return bits(1) & 1; }
  // True with probability about p.
  bool chance(double p) { return static_cast<double>(bits(1)) < p * 256.0; }
  double real(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(bits(2)) / 65535.0; }
  std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> out(n, 0);
    const size_t take = std::min(n, size_ - pos_);
    if (take) std::memcpy(out.data(), data_ + pos_, take);
    pos_ += take;
    return out;
  }
  std::string text(size_t max) {
    const std::vector<uint8_t> b = bytes(static_cast<size_t>(integer(0, static_cast<int64_t>(max))));
    return std::string(b.begin(), b.end());
  }
  template <class T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[integer(0, N - 1)];
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace loom::fuzz
