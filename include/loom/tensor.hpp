#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/detail/tensor_impl.hpp"
#include "loom/device.hpp"
#include "loom/dtype.hpp"
#include "loom/error.hpp"
#include "loom/export.hpp"
#include "loom/shape.hpp"

namespace loom {

// Python-style slice for one axis: start:stop:step, negative values count from the end,
// missing bounds cover the whole axis in the step's direction.
struct Slice {
  std::optional<int64_t> start;
  std::optional<int64_t> stop;
  int64_t step = 1;
  Slice() = default;
  Slice(std::optional<int64_t> start_, std::optional<int64_t> stop_, int64_t step_ = 1)
      : start(start_), stop(stop_), step(step_) {}
};
inline constexpr std::nullopt_t None = std::nullopt;

// One entry of x[{...}]: an integer (removes the axis), a Slice, NewAxis or Ellipsis.
struct TensorIndex {
  enum class Kind { Integer, Slice, NewAxis, Ellipsis };
  Kind kind;
  int64_t integer = 0;
  loom::Slice slice;
  TensorIndex(int64_t i) : kind(Kind::Integer), integer(i) {}  // NOLINT: implicit by design
  TensorIndex(int i) : kind(Kind::Integer), integer(i) {}      // NOLINT
  TensorIndex(loom::Slice s) : kind(Kind::Slice), slice(s) {}  // NOLINT
  static TensorIndex new_axis() { return TensorIndex(Kind::NewAxis); }
  static TensorIndex ellipsis() { return TensorIndex(Kind::Ellipsis); }

 private:
  explicit TensorIndex(Kind k) : kind(k) {}
};
inline const TensorIndex NewAxis = TensorIndex::new_axis();
inline const TensorIndex Ellipsis = TensorIndex::ellipsis();

// A refcounted handle to an n-dimensional array on one device. Copying a Tensor copies the
// handle, not the data. Ops never modify their inputs; only Variables change in place.
class LOOM_API Tensor {
 public:
  Tensor() = default;
  explicit Tensor(detail::Ref<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return static_cast<bool>(impl_); }
  TensorImpl* impl() const { return impl_.get(); }

  const Shape& shape() const { return checked()->shape; }
  const Shape& strides() const { return checked()->strides; }
  int64_t offset() const { return checked()->offset; }
  int rank() const { return checked()->shape.rank(); }
  int64_t dim(int64_t axis) const;
  int64_t numel() const { return checked()->shape.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage->device(); }
  uint64_t id() const { return checked()->id; }
  bool is_contiguous() const;
  bool is_variable() const { return impl_ && impl_->variable != nullptr; }
  // Pointer to the first element; valid for CPU tensors (GPU: device pointer).
  void* data_ptr() const { return checked()->data(); }

  // Views (share storage where strides allow; recorded by gradient tapes).
  Tensor reshape(const Shape& shape) const;  // one -1 is inferred
  Tensor transpose(const std::vector<int64_t>& perm = {}) const;  // default: reverse axes
  Tensor permute(const std::vector<int64_t>& perm) const { return transpose(perm); }
  Tensor expand_dims(int64_t axis) const;
  Tensor squeeze(const std::vector<int64_t>& axes = {}) const;  // default: every size-1 axis
  Tensor broadcast_to(const Shape& shape) const;
  Tensor index(const std::vector<TensorIndex>& indices) const;
  Tensor operator[](const std::vector<TensorIndex>& indices) const { return index(indices); }
  Tensor operator[](int64_t i) const { return index({TensorIndex(i)}); }
  Tensor contiguous() const;
  Tensor clone() const;  // a contiguous copy with fresh storage

  Tensor cast(DType dtype) const;
  Tensor to(Device device) const;
  Tensor to(std::string_view device) const { return to(Device::parse(device)); }

  // Host access. item() needs exactly one element; values are converted to T.
  template <class T>
  T item() const {
    T out;
    read_scalar(dtype_v<T>, &out);
    return out;
  }
  template <class T>
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<size_t>(numel()));
    copy_to_host_as(dtype_v<T>, out.data(), out.size() * sizeof(T));
    return out;
  }
  // Dense row-major copy of the values, in this tensor's dtype; `nbytes` must match.
  void copy_to_host(void* dst, size_t nbytes) const;
  // Same, converting to `dtype` first.
  void copy_to_host_as(DType dtype, void* dst, size_t nbytes) const;

  std::string str() const;

 private:
  TensorImpl* checked() const {
    if (!impl_) throw_undefined();
    return impl_.get();
  }
  [[noreturn]] static void throw_undefined();
  void read_scalar(DType dtype, void* out) const;

  detail::Ref<TensorImpl> impl_;
};

template <>
inline bool Tensor::item<bool>() const {
  uint8_t b;
  read_scalar(DType::Bool, &b);
  return b != 0;
}
template <>
inline std::vector<bool> Tensor::to_vector<bool>() const {
  std::vector<uint8_t> bytes(static_cast<size_t>(numel()));
  copy_to_host_as(DType::Bool, bytes.data(), bytes.size());
  return std::vector<bool>(bytes.begin(), bytes.end());
}

// Prints like TF: tf.Tensor([[1 2] [3 4]], shape=(2, 2), dtype=int64, device=CPU:0);
// large tensors are summarised with "...".
LOOM_API std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Allocates an uninitialised contiguous tensor (used by kernels and creation functions).
LOOM_API Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device(),
                      const char* op = "empty");
// Wraps existing storage as a view.
LOOM_API Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

}  // namespace loom
