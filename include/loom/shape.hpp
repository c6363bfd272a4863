#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "loom/export.hpp"

namespace loom {

/// A list of dimensions (or strides) that keeps up to kInline entries without touching the heap.
///
/// Shapes are created on every op call, so this keeps small ops cheap. `Shape{2, 3}` is a
/// 2 x 3 shape; `Shape{}` is the shape of a scalar.
class LOOM_API Shape {
 public:
  /// Entries stored inline; longer shapes use the heap.
  static constexpr int kInline = 6;
  using value_type = int64_t;             ///< The entry type.
  using iterator = int64_t*;              ///< Mutable iterator over the entries.
  using const_iterator = const int64_t*;  ///< Read-only iterator over the entries.

  /// The empty shape (rank 0, a scalar).
  Shape() = default;
  /// The given dimensions: `Shape{2, 3}`.
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.size()); }
  /// Same as above, from a vector.
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.data(), dims.size()); }
  /// Same as above, from `n` entries at `dims` (which may be null when `n` is 0).
  Shape(const int64_t* dims, size_t n) { assign(dims, n); }
  /// `n` entries, each `value`.
  static Shape filled(size_t n, int64_t value) {
    Shape s;
    s.resize(n, value);
    return s;
  }
  /// Copies the entries.
  Shape(const Shape& other) { assign(other.data(), other.size()); }
  /// Takes the entries; `other` is left empty.
  Shape(Shape&& other) noexcept { steal(other); }
  /// Copies the entries.
  Shape& operator=(const Shape& other) {
    if (this != &other) assign(other.data(), other.size());
    return *this;
  }
  /// Takes the entries; `other` is left empty.
  Shape& operator=(Shape&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }
  /// Frees heap storage, if any.
  ~Shape() { release(); }

  /// Number of entries.
  size_t size() const { return size_; }
  /// Whether there are no entries (the shape of a scalar).
  bool empty() const { return size_ == 0; }
  /// Number of entries, as an int.
  int rank() const { return static_cast<int>(size_); }
  /// Pointer to the entries.
  int64_t* data() { return heap_ ? heap_ : inline_; }
  /// Same as above, read-only.
  const int64_t* data() const { return heap_ ? heap_ : inline_; }
  /// Entry `i` (unchecked).
  int64_t& operator[](size_t i) { return data()[i]; }
  /// Same as above, by value.
  int64_t operator[](size_t i) const { return data()[i]; }
  /// The last entry (unchecked: the shape must not be empty).
  int64_t back() const { return data()[size_ - 1]; }
  /// Iterator to the first entry.
  iterator begin() { return data(); }
  /// Iterator past the last entry.
  iterator end() { return data() + size_; }
  /// Read-only iterator to the first entry.
  const_iterator begin() const { return data(); }
  /// Read-only iterator past the last entry.
  const_iterator end() const { return data() + size_; }

  /// Changes the number of entries to `n`; new entries are `value`.
  void resize(size_t n, int64_t value = 0) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data()[i] = value;
    size_ = n;
  }
  /// Appends an entry.
  void push_back(int64_t v) {
    reserve(size_ + 1);
    data()[size_++] = v;
  }
  /// Inserts `v` before entry `pos` (`pos` <= size(), unchecked).
  void insert(size_t pos, int64_t v) {
    reserve(size_ + 1);
    int64_t* d = data();
    std::memmove(d + pos + 1, d + pos, (size_ - pos) * sizeof(int64_t));
    d[pos] = v;
    ++size_;
  }
  /// Removes entry `pos` (unchecked).
  void erase(size_t pos) {
    int64_t* d = data();
    std::memmove(d + pos, d + pos + 1, (size_ - pos - 1) * sizeof(int64_t));
    --size_;
  }
  /// Removes all entries.
  void clear() { size_ = 0; }

  /// Number of elements (1 for rank 0). A shape whose count does not fit in int64 (a corrupt
  /// file's header, say) is a ShapeError, not an overflow.
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : *this) {
      if (__builtin_mul_overflow(n, d, &n)) throw_too_many_elements();
    }
    return n;
  }
  /// The entries as a vector.
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }
  /// Throws the ShapeError of numel() for a count that overflows int64 (used by numel()).
  [[noreturn]] void throw_too_many_elements() const;
  /// "(2, 3)" as NumPy prints shapes; "(5,)" for one entry, "()" for a scalar.
  std::string str() const;

  /// Whether both have the same entries.
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  /// Whether the entries differ.
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

/// Row-major (C order) strides of `shape`, in elements.
LOOM_API Shape contiguous_strides(const Shape& shape);
/// NumPy broadcasting of two shapes; throws ShapeError naming `op` if they do not broadcast.
LOOM_API Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Normalises a possibly negative axis into [0, rank); throws InvalidArgument naming `op` when
/// it is outside [-rank, rank).
LOOM_API int normalize_axis(int64_t axis, int rank, const char* op);

}  // namespace loom
