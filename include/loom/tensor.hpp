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

/// The loom C++ API: tensors, ops, variables, gradient tapes, devices and files.
///
/// Neural-network layers and models are in loom::nn, datasets in loom::data. Every error is an
/// exception derived from loom::Error whose message starts with the op in brackets.
namespace loom {

/// Python-style slice of one axis, `start:stop:step`.
///
/// Negative bounds count from the end, out-of-range bounds are clamped, and a missing bound
/// covers the whole axis in the step's direction. A step of 0 is an InvalidArgument when used.
struct Slice {
  std::optional<int64_t> start;  ///< First index (inclusive); none: from the start in the step's direction.
  std::optional<int64_t> stop;   ///< Last index (exclusive); none: to the end in the step's direction.
  int64_t step = 1;              ///< Distance between selected indices; negative walks backwards.
  /// The whole axis (`:`).
  Slice() = default;
  /// `start_:stop_:step_`; pass loom::None for an open bound.
  Slice(std::optional<int64_t> start_, std::optional<int64_t> stop_, int64_t step_ = 1)
      : start(start_), stop(stop_), step(step_) {}
};
/// An open slice bound: `Slice(None, 3)` is `:3`.
inline constexpr std::nullopt_t None = std::nullopt;

/// One entry of `x[{...}]`: an integer (removes the axis), a Slice, NewAxis or Ellipsis.
struct TensorIndex {
  /// Which of the four alternatives the entry holds.
  enum class Kind { Integer, Slice, NewAxis, Ellipsis };
  Kind kind;            ///< The alternative held.
  int64_t integer = 0;  ///< The index when kind is Integer (negative counts from the end).
  loom::Slice slice;    ///< The slice when kind is Slice.
  /// An integer index; it must be in range for its axis (InvalidArgument otherwise).
  TensorIndex(int64_t i) : kind(Kind::Integer), integer(i) {}  // NOLINT: implicit by design
  /// Same as above, for an `int`.
  TensorIndex(int i) : kind(Kind::Integer), integer(i) {}      // NOLINT
  /// A slice of the axis; keeps the axis.
  TensorIndex(loom::Slice s) : kind(Kind::Slice), slice(s) {}  // NOLINT
  /// Inserts a new axis of size 1 (what loom::NewAxis holds).
  static TensorIndex new_axis() { return TensorIndex(Kind::NewAxis); }
  /// Stands for as many full slices as the other entries leave (what loom::Ellipsis holds).
  static TensorIndex ellipsis() { return TensorIndex(Kind::Ellipsis); }

 private:
  explicit TensorIndex(Kind k) : kind(k) {}
};
/// Index entry that inserts a new axis of size 1 (NumPy's `np.newaxis`).
inline const TensorIndex NewAxis = TensorIndex::new_axis();
/// Index entry for all remaining axes (Python's `...`); at most one per index.
inline const TensorIndex Ellipsis = TensorIndex::ellipsis();

/// A refcounted handle to an n-dimensional array on one device.
///
/// Copying a Tensor copies the handle, not the data. Ops never modify their inputs; only
/// Variables change in place. A default-constructed handle is empty (undefined): every
/// accessor but defined(), impl() and is_variable() then throws InvalidArgument.
class LOOM_API Tensor {
 public:
  /// An empty (undefined) handle.
  Tensor() = default;
  /// Wraps tensor state made by a kernel or a backend (internal use).
  explicit Tensor(detail::Ref<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// Whether the handle refers to a tensor.
  bool defined() const { return static_cast<bool>(impl_); }
  /// The state behind the handle (null when undefined); for kernels and backends.
  TensorImpl* impl() const { return impl_.get(); }

  /// The dimensions.
  const Shape& shape() const { return checked()->shape; }
  /// Strides of each axis, in elements (0 on broadcast axes).
  const Shape& strides() const { return checked()->strides; }
  /// Offset of the first element into the storage, in elements.
  int64_t offset() const { return checked()->offset; }
  /// Number of axes (0 for a scalar).
  int rank() const { return checked()->shape.rank(); }
  /// Size of one axis; negative axes count from the end (InvalidArgument if out of range).
  int64_t dim(int64_t axis) const;
  /// Number of elements (1 for a scalar).
  int64_t numel() const { return checked()->shape.numel(); }
  /// Size of the values in bytes: numel() times the dtype's size.
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  /// The element type.
  DType dtype() const { return checked()->dtype; }
  /// The device holding the values.
  Device device() const { return checked()->storage->device(); }
  /// Identity of the tensor, unique for the process lifetime (the gradient tape's key).
  uint64_t id() const { return checked()->id; }
  /// Whether the values are laid out densely in row-major order.
  bool is_contiguous() const;
  /// Whether this handle refers to a Variable's value (false when undefined).
  bool is_variable() const { return impl_ && impl_->variable != nullptr; }
  /// Pointer to the first element; valid for CPU tensors (GPU: device pointer).
  void* data_ptr() const { return checked()->data(); }

  // Views (share storage where strides allow; recorded by gradient tapes).
  /// Same values in a new shape; one -1 is inferred (ShapeError if the counts differ).
  Tensor reshape(const Shape& shape) const;
  /// Permutes the axes; the default reverses them. InvalidArgument if perm is no permutation.
  Tensor transpose(const std::vector<int64_t>& perm = {}) const;
  /// Same as transpose(perm) (PyTorch's name).
  Tensor permute(const std::vector<int64_t>& perm) const { return transpose(perm); }
  /// Inserts a size-1 axis at `axis` (negative counts from the end).
  Tensor expand_dims(int64_t axis) const;
  /// Removes the given size-1 axes, by default every size-1 axis (ShapeError on a larger axis).
  Tensor squeeze(const std::vector<int64_t>& axes = {}) const;
  /// A broadcast view of `shape` (ShapeError if this shape does not broadcast to it).
  Tensor broadcast_to(const Shape& shape) const;
  /// NumPy-style basic indexing: `x.index({1, Slice(None, 3), NewAxis})`. A view of this tensor.
  Tensor index(const std::vector<TensorIndex>& indices) const;
  /// Same as index(indices): `x[{1, Slice(0, 2)}]`.
  Tensor operator[](const std::vector<TensorIndex>& indices) const { return index(indices); }
  /// Entry `i` of the first axis, which is removed (negative counts from the end).
  Tensor operator[](int64_t i) const { return index({TensorIndex(i)}); }
  /// This tensor when contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A contiguous copy with fresh storage (differentiable, as TF's identity).
  Tensor clone() const;

  /// Converts to `dtype`; returns this tensor when it already has it (see loom::cast).
  Tensor cast(DType dtype) const;
  /// A copy on `device` (this tensor when already there); DeviceError if it is not available.
  Tensor to(Device device) const;
  /// Same as above, with a device name such as "GPU:0".
  Tensor to(std::string_view device) const { return to(Device::parse(device)); }

  /// The single value, converted to T; InvalidArgument unless numel() is 1.
  template <class T>
  T item() const {
    T out;
    read_scalar(dtype_v<T>, &out);
    return out;
  }
  /// All values in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<size_t>(numel()));
    copy_to_host_as(dtype_v<T>, out.data(), out.size() * sizeof(T));
    return out;
  }
  /// Dense row-major copy of the values, in this tensor's dtype, into host memory `dst`.
  /// `nbytes` must equal nbytes() (InvalidArgument otherwise).
  void copy_to_host(void* dst, size_t nbytes) const;
  /// Same, converting to `dtype` first; `nbytes` must equal numel() times its size.
  void copy_to_host_as(DType dtype, void* dst, size_t nbytes) const;

  /// The printed form, as operator<< writes it.
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

/// The single value as a bool (non-zero is true); InvalidArgument unless numel() is 1.
template <>
inline bool Tensor::item<bool>() const {
  uint8_t b;
  read_scalar(DType::Bool, &b);
  return b != 0;
}
/// All values as bools (non-zero is true), in row-major order.
template <>
inline std::vector<bool> Tensor::to_vector<bool>() const {
  std::vector<uint8_t> bytes(static_cast<size_t>(numel()));
  copy_to_host_as(DType::Bool, bytes.data(), bytes.size());
  return std::vector<bool>(bytes.begin(), bytes.end());
}

/// Prints NumPy-style: `Tensor([[1 2] [3 4]], shape=(2, 2), dtype=int64, device=CPU:0)`, each
/// row on its own line. Tensors of more than 1000 elements are summarised with "..."; an
/// undefined one prints as `Tensor(undefined)`.
LOOM_API std::ostream& operator<<(std::ostream& os, const Tensor& t);

/// Bytes that `shape` of `dtype` occupies, checked: ShapeError naming `op` and the shape for a
/// negative dimension, an element count beyond int64 or a byte count beyond the limit of one
/// tensor (INT64_MAX bytes). Every size computed from a user's shape goes through it.
LOOM_API size_t tensor_nbytes(const Shape& shape, DType dtype, const char* op);

/// Allocates an uninitialised contiguous tensor on `device` (used by kernels and creation
/// functions; it ignores DeviceScope). Errors name `op`: ShapeError for negative dimensions,
/// DeviceError for a missing device, OutOfMemoryError when the allocation fails.
LOOM_API Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device(),
                      const char* op = "empty");
/// A tensor over `base`'s storage and dtype with the given shape, strides and offset (in
/// elements); no gradient tape records it: for kernels and backends. The layout is checked
/// like every tensor's (sizes as tensor_nbytes(), every element inside the storage): a
/// ShapeError naming `op` otherwise.
LOOM_API Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset,
                          const char* op = "view");

/// \class loom::Storage
/// Bytes on one device, owned through that device's allocator or by a caller's deleter;
/// shared by a tensor and its views (internal: the state behind Tensor).
///
/// \fn loom::Storage::Storage(size_t nbytes, Device device, const char* op)
/// Allocates `nbytes` on `device`; DeviceError or OutOfMemoryError naming `op`.
///
/// \fn loom::Storage::Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*), void* user)
/// Wraps caller memory; `deleter(data, user)` runs exactly once, when the storage dies.
///
/// \fn void* loom::Storage::data() const
/// Start of the bytes (null for an empty allocation).
///
/// \fn size_t loom::Storage::nbytes() const
/// Size in bytes.
///
/// \fn Device loom::Storage::device() const
/// The device holding the bytes.

/// \struct loom::VariableInfo
/// What makes a tensor's state a Variable's value (internal: see Variable).
///
/// \var loom::VariableInfo::name
/// The variable's name.
///
/// \var loom::VariableInfo::trainable
/// Whether optimizers and Layer::trainable_weights() include it.

/// \class loom::TensorImpl
/// The state behind a Tensor handle (internal); views share `storage` with other impls.
///
/// \fn loom::TensorImpl::TensorImpl(Shape shape, Shape strides, int64_t offset, DType dtype, detail::Ref<Storage> storage)
/// State over `storage` with a fresh id.
///
/// \var loom::TensorImpl::shape
/// The dimensions.
///
/// \var loom::TensorImpl::strides
/// Stride of each axis, in elements.
///
/// \var loom::TensorImpl::offset
/// Offset of the first element into the storage, in elements.
///
/// \var loom::TensorImpl::dtype
/// The element type.
///
/// \var loom::TensorImpl::storage
/// The bytes, shared with views.
///
/// \var loom::TensorImpl::id
/// Unique for the process lifetime; the gradient tape keys on it.
///
/// \var loom::TensorImpl::variable
/// Set when this state is a Variable's value.
///
/// \fn void* loom::TensorImpl::data() const
/// Address of the first element (null for empty storage).

}  // namespace loom
