#include "loom/shape.hpp"

#include <string>

#include "loom/error.hpp"

namespace loom {

std::string Shape::str() const {
  std::string s = "(";
  for (size_t i = 0; i < size_; ++i) {
    if (i) s += ", ";
    s += std::to_string((*this)[i]);
  }
  if (size_ == 1) s += ",";
  return s + ")";
}

void Shape::throw_too_many_elements() const {
  throw ShapeError("[shape] " + str() + " has more elements than fit in a 64-bit count");
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides = Shape::filled(shape.size(), 1);
  int64_t acc = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = acc;
    if (__builtin_mul_overflow(acc, shape[i] > 0 ? shape[i] : 1, &acc)) shape.throw_too_many_elements();
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out = Shape::filled(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      throw ShapeError(std::string("[") + op + "] shapes " + a.str() + " and " + b.str() +
                       " are not broadcastable (axis " + std::to_string(i) + ": " +
                       std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
  }
  return out;
}

int normalize_axis(int64_t axis, int rank, const char* op) {
  if (axis < -rank || axis >= rank) {
    throw InvalidArgument(std::string("[") + op + "] axis " + std::to_string(axis) +
                          " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace loom
