#pragma once
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

/// A named, mutable tensor (TF's tf.Variable).
///
/// A Variable is a Tensor handle, so it passes to every op; its identity (and so its
/// gradient-tape key) never changes, while assign, assign_add, assign_sub and sliced assignment
/// change its values in place. Assignments are not differentiable. Copies of the handle share
/// the variable. Members throw InvalidArgument on an empty handle.
class LOOM_API Variable : public Tensor {
 public:
  /// An empty handle.
  Variable() = default;
  /// Copies `initial_value` into fresh storage on the same device (InvalidArgument if it is
  /// undefined).
  explicit Variable(const Tensor& initial_value, std::string name = "Variable",
                    bool trainable = true);
  /// Wraps a tensor that already is a variable's value (a Tensor copy of a Variable handle,
  /// say); InvalidArgument for any other tensor.
  static Variable from_tensor(const Tensor& variable_value);

  /// The name given at construction.
  const std::string& name() const;
  /// Whether optimizers and auto-watching tapes treat it as trainable.
  bool trainable() const;
  /// Changes trainable().
  void set_trainable(bool trainable);
  /// The current values as a separate tensor (a copy: later assignments do not change it).
  Tensor read_value() const;

  /// Writes `value`, which must have the variable's dtype (DTypeError) and shape (ShapeError);
  /// it is copied from another device if needed. Returns *this.
  Variable& assign(const Tensor& value);
  /// Sets every element to `value`; returns *this.
  Variable& assign(double value);
  /// Adds `delta` (same dtype; broadcasts to the variable's shape) in place; returns *this.
  Variable& assign_add(const Tensor& delta);
  /// Subtracts `delta` (same dtype; broadcasts to the variable's shape) in place; returns *this.
  Variable& assign_sub(const Tensor& delta);

  /// A selected region of a variable, from `v[{...}]`: `v[{1, 2}].assign(9)` assigns into the
  /// region (the value broadcasts to it); reading it gives a Tensor.
  class LOOM_API SliceRef {
   public:
    /// The region of `var` selected by `indices` (as Tensor::index).
    SliceRef(Tensor var, std::vector<TensorIndex> indices)
        : var_(std::move(var)), indices_(std::move(indices)) {}
    /// Writes `value` (the variable's dtype, broadcast to the region) into the region.
    void assign(const Tensor& value) const;
    /// Sets every element of the region to `value`.
    void assign(double value) const;
    /// The region's current values (a view of the variable).
    Tensor value() const { return var_.index(indices_); }
    /// Same as value().
    operator Tensor() const { return value(); }  // NOLINT: reading a slice gives a tensor

   private:
    Tensor var_;  // the variable's handle
    std::vector<TensorIndex> indices_;
  };
  /// The region selected by `indices`, for sliced assignment or reading.
  SliceRef operator[](const std::vector<TensorIndex>& indices) const {
    return SliceRef(*this, indices);
  }
  /// Entry `i` of the first axis, for sliced assignment or reading.
  SliceRef operator[](int64_t i) const { return SliceRef(*this, {TensorIndex(i)}); }

 private:
  explicit Variable(const Tensor& impl_handle, int /*wrap tag*/) : Tensor(impl_handle) {}
};

}  // namespace loom
