#include "loom/variable.hpp"

#include "ops/recording.hpp"
#include "loom/creation.hpp"
#include "loom/ops.hpp"
#include "ops/registry.hpp"

namespace loom {
namespace {

VariableInfo& info_of(const Tensor& t, const char* what) {
  if (!t.defined() || !t.impl()->variable) {
    throw InvalidArgument(std::string("[Variable.") + what + "] the variable handle is empty");
  }
  return *t.impl()->variable;
}

// The value to write into a region of `target`: same dtype (as TF), same device, broadcast to
// the region's shape.
Tensor prepare_value(const Tensor& target, const Tensor& value, const char* what, bool exact_shape) {
  const std::string op = std::string("[Variable.") + what + "] ";
  if (!value.defined()) throw InvalidArgument(op + "the value is an empty tensor handle");
  if (value.dtype() != target.dtype()) {
    throw DTypeError(op + "value has dtype " + dtype_name(value.dtype()) + ", the variable is " +
                     dtype_name(target.dtype()));
  }
  if (exact_shape && value.shape() != target.shape()) {
    throw ShapeError(op + "value has shape " + value.shape().str() + ", the variable is " +
                     target.shape().str());
  }
  Tensor v = value.device() == target.device() ? value : value.to(target.device());
  if (v.shape() != target.shape()) {
    const std::string name = std::string("Variable.") + what;
    if (broadcast_shapes(v.shape(), target.shape(), name.c_str()) != target.shape()) {
      throw ShapeError(op + "value of shape " + v.shape().str() + " does not fit the region " +
                       target.shape().str());
    }
    v = broadcast_to(v, target.shape());
  }
  return v;
}

}  // namespace

Variable::Variable(const Tensor& initial_value, std::string name, bool trainable) {
  if (!initial_value.defined()) {
    throw InvalidArgument("[Variable] the initial value is an empty tensor handle");
  }
  Tensor copy;
  {
    detail::RecordingPause pause;
    copy = identity(initial_value);
  }
  copy.impl()->variable = std::make_unique<VariableInfo>(VariableInfo{std::move(name), trainable});
  static_cast<Tensor&>(*this) = copy;
}

Variable Variable::from_tensor(const Tensor& variable_value) {
  info_of(variable_value, "from_tensor");
  return Variable(variable_value, 0);
}

const std::string& Variable::name() const { return info_of(*this, "name").name; }
bool Variable::trainable() const { return info_of(*this, "trainable").trainable; }
void Variable::set_trainable(bool trainable) { info_of(*this, "set_trainable").trainable = trainable; }

Tensor Variable::read_value() const {
  info_of(*this, "read_value");
  return identity(*this);
}

Variable& Variable::assign(const Tensor& value) {
  info_of(*this, "assign");
  detail::RecordingPause pause;
  ops::copy_into(*this, prepare_value(*this, value, "assign", true));
  return *this;
}

Variable& Variable::assign(double value) {
  info_of(*this, "assign");
  detail::RecordingPause pause;
  return assign(fill_like(*this, value));
}

Variable& Variable::assign_add(const Tensor& delta) {
  info_of(*this, "assign_add");
  detail::RecordingPause pause;
  const Tensor sum = add(*this, prepare_value(*this, delta, "assign_add", false));
  ops::copy_into(*this, sum);
  return *this;
}

Variable& Variable::assign_sub(const Tensor& delta) {
  info_of(*this, "assign_sub");
  detail::RecordingPause pause;
  const Tensor diff = sub(*this, prepare_value(*this, delta, "assign_sub", false));
  ops::copy_into(*this, diff);
  return *this;
}

void Variable::SliceRef::assign(const Tensor& value) const {
  info_of(var_, "assign");
  detail::RecordingPause pause;
  const Tensor region = var_.index(indices_);
  if (region.impl()->storage.get() != var_.impl()->storage.get()) {
    throw InternalError("[Variable.assign] the selected region is not a view of the variable");
  }
  ops::copy_into(region, prepare_value(region, value, "assign", false));
}

void Variable::SliceRef::assign(double value) const {
  detail::RecordingPause pause;
  const Tensor region = var_.index(indices_);
  assign(fill_like(region, value));
}

}  // namespace loom
