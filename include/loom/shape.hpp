#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "loom/export.hpp"

namespace loom {

// A list of dimensions (or strides) that keeps up to kInline entries without touching the heap:
// shapes are created on every op call, so this keeps small ops cheap.
class LOOM_API Shape {
 public:
  static constexpr int kInline = 6;
  using value_type = int64_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.size()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.data(), dims.size()); }
  Shape(const int64_t* dims, size_t n) { assign(dims, n); }
  static Shape filled(size_t n, int64_t value) {
    Shape s;
    s.resize(n, value);
    return s;
  }
  Shape(const Shape& other) { assign(other.data(), other.size()); }
  Shape(Shape&& other) noexcept { steal(other); }
  Shape& operator=(const Shape& other) {
    if (this != &other) assign(other.data(), other.size());
    return *this;
  }
  Shape& operator=(Shape&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }
  ~Shape() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int rank() const { return static_cast<int>(size_); }
  int64_t* data() { return heap_ ? heap_ : inline_; }
  const int64_t* data() const { return heap_ ? heap_ : inline_; }
  int64_t& operator[](size_t i) { return data()[i]; }
  int64_t operator[](size_t i) const { return data()[i]; }
  int64_t back() const { return data()[size_ - 1]; }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }

  void resize(size_t n, int64_t value = 0) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data()[i] = value;
    size_ = n;
  }
  void push_back(int64_t v) {
    reserve(size_ + 1);
    data()[size_++] = v;
  }
  void insert(size_t pos, int64_t v) {
    reserve(size_ + 1);
    int64_t* d = data();
    std::memmove(d + pos + 1, d + pos, (size_ - pos) * sizeof(int64_t));
    d[pos] = v;
    ++size_;
  }
  void erase(size_t pos) {
    int64_t* d = data();
    std::memmove(d + pos, d + pos + 1, (size_ - pos - 1) * sizeof(int64_t));
    --size_;
  }
  void clear() { size_ = 0; }

  // Number of elements (1 for rank 0). A shape whose count does not fit in int64 (a corrupt
  // file's header, say) is a ShapeError, not an overflow.
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : *this) {
      if (__builtin_mul_overflow(n, d, &n)) throw_too_many_elements();
    }
    return n;
  }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }
  [[noreturn]] void throw_too_many_elements() const;
  // "(2, 3)" as TF and NumPy print shapes; "()" for a scalar.
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  void reserve(size_t n) {
    if (n <= capacity()) return;
    size_t cap = std::max<size_t>(n, capacity() * 2);
    auto* fresh = new int64_t[cap];
    std::memcpy(fresh, data(), size_ * sizeof(int64_t));
    delete[] heap_;
    heap_ = fresh;
    heap_capacity_ = cap;
  }
  size_t capacity() const { return heap_ ? heap_capacity_ : kInline; }
  void assign(const int64_t* src, size_t n) {
    size_ = 0;
    reserve(n);
    if (n > 0) std::memcpy(data(), src, n * sizeof(int64_t));  // src may be null when n == 0
    size_ = n;
  }
  void steal(Shape& other) {
    size_ = other.size_;
    if (other.heap_) {
      heap_ = other.heap_;
      heap_capacity_ = other.heap_capacity_;
      other.heap_ = nullptr;
    } else {
      heap_ = nullptr;
      std::memcpy(inline_, other.inline_, size_ * sizeof(int64_t));
    }
    other.size_ = 0;
  }
  void release() {
    delete[] heap_;
    heap_ = nullptr;
  }

  size_t size_ = 0;
  int64_t* heap_ = nullptr;
  size_t heap_capacity_ = 0;
  int64_t inline_[kInline] = {};
};

// Row-major (C order) strides, in elements.
LOOM_API Shape contiguous_strides(const Shape& shape);
// NumPy broadcasting of two shapes; throws ShapeError naming `op` if they do not broadcast.
LOOM_API Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Normalises a possibly negative axis into [0, rank); throws InvalidArgument naming `op`.
LOOM_API int normalize_axis(int64_t axis, int rank, const char* op);

}  // namespace loom
