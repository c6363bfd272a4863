#pragma once
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

// A named, mutable tensor (TF's tf.Variable). A Variable is a Tensor handle, so it passes to
// every op; its identity (and so its gradient-tape key) never changes, while assign, assign_add,
// assign_sub and sliced assignment change its values in place. Assignments are not
// differentiable. Copies of the handle share the variable.
class LOOM_API Variable : public Tensor {
 public:
  Variable() = default;
  // Copies `initial_value` into fresh storage on the same device.
  explicit Variable(const Tensor& initial_value, std::string name = "Variable",
                    bool trainable = true);
  // Wraps a tensor that already is a variable's value (e.g. one returned by an op call).
  static Variable from_tensor(const Tensor& variable_value);

  const std::string& name() const;
  bool trainable() const;
  void set_trainable(bool trainable);
  // The current values as a separate tensor (a copy: later assignments do not change it).
  Tensor read_value() const;

  Variable& assign(const Tensor& value);
  Variable& assign(double value);
  Variable& assign_add(const Tensor& delta);
  Variable& assign_sub(const Tensor& delta);

  // X[{1, 2}].assign(9): assigns into the selected region (value broadcasts to it).
  class LOOM_API SliceRef {
   public:
    SliceRef(Tensor var, std::vector<TensorIndex> indices)
        : var_(std::move(var)), indices_(std::move(indices)) {}
    void assign(const Tensor& value) const;
    void assign(double value) const;
    Tensor value() const { return var_.index(indices_); }
    operator Tensor() const { return value(); }  // NOLINT: reading a slice gives a tensor

   private:
    Tensor var_;  // the variable's handle
    std::vector<TensorIndex> indices_;
  };
  SliceRef operator[](const std::vector<TensorIndex>& indices) const {
    return SliceRef(*this, indices);
  }
  SliceRef operator[](int64_t i) const { return SliceRef(*this, {TensorIndex(i)}); }

 private:
  explicit Variable(const Tensor& impl_handle, int /*wrap tag*/) : Tensor(impl_handle) {}
};

}  // namespace loom
