// Tensor printing in NumPy/TF style, summarising large tensors with "...".
#include <cmath>
#include <cstdio>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "loom/tensor.hpp"

namespace loom {
namespace {

constexpr int64_t kSummariseAbove = 1000;  // elements, as NumPy's threshold
constexpr int64_t kEdgeItems = 3;

std::string format_value(double v, DType dtype) {
  if (dtype == DType::Bool) return v != 0 ? "True" : "False";
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  std::string s(buf);
  if (s.find_first_of(".en") == std::string::npos) s += ".";
  return s;
}

struct Printer {
  std::function<std::string(int64_t)> cell;  // formatted element at a flat index
  const Shape& shape;
  const Shape strides;
  bool summarise;
  size_t width = 0;

  // Visits the printed elements in order, calling f(flat index) or f(-1) for a "..." gap.
  template <class F>
  void walk(int axis, int64_t base, F&& f) const {
    if (axis == shape.rank()) {
      f(base);
      return;
    }
    const int64_t n = shape[axis];
    for (int64_t i = 0; i < n; ++i) {
      if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
        i = n - kEdgeItems - 1;
        continue;
      }
      walk(axis + 1, base + i * strides[axis], f);
    }
  }

  void print(std::ostream& os, int axis, int64_t base, int indent) const {
    if (axis == shape.rank()) {
      const std::string text = cell(base);
      os << std::string(width - text.size(), ' ') << text;
      return;
    }
    os << '[';
    const int64_t n = shape[axis];
    for (int64_t i = 0; i < n; ++i) {
      if (i > 0) {
        if (axis == shape.rank() - 1) {
          os << ' ';
        } else {
          os << std::string(static_cast<size_t>(shape.rank() - axis - 1), '\n')
             << std::string(static_cast<size_t>(indent + 1), ' ');
        }
      }
      if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
        os << "...";
        i = n - kEdgeItems - 1;
        continue;
      }
      print(os, axis + 1, base + i * strides[axis], indent + 1);
    }
    os << ']';
  }
};

}  // namespace

std::string Tensor::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  // Integers are read as int64 so that large values print exactly.
  std::vector<double> reals;
  std::vector<int64_t> ints;
  const DType dtype = t.dtype();
  if (is_integral(dtype)) ints = t.to_vector<int64_t>();
  else reals = t.to_vector<double>();
  auto cell = [&](int64_t i) {
    const auto k = static_cast<size_t>(i);
    return is_integral(dtype) ? std::to_string(ints[k]) : format_value(reals[k], dtype);
  };
  Printer p{cell, t.shape(), contiguous_strides(t.shape()), t.numel() > kSummariseAbove};
  p.walk(0, 0, [&](int64_t i) { p.width = std::max(p.width, cell(i).size()); });
  os << "Tensor(";
  p.print(os, 0, 0, 7);
  return os << ", shape=" << t.shape().str() << ", dtype=" << dtype_name(t.dtype())
            << ", device=" << t.device().str() << ")";
}

}  // namespace loom
