// OpLayer: one op of the registry on a layer's inputs and constants.
#include <algorithm>
#include <set>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/layers.hpp"
#include "loom/op_schema.hpp"
#include "loom/ops.hpp"

namespace loom::nn {

OpLayer::OpLayer(std::string op, Attrs attrs, std::vector<int64_t> operands, std::vector<Tensor> constants, std::string name)
    : Layer("op_layer", std::move(name)),
      op_(std::move(op)),
      attrs_(std::move(attrs)),
      operands_(std::move(operands)),
      initial_constants_(std::move(constants)) {
  (void)op_schema(op_);  // an unknown op fails now, naming the known ones
  std::set<int64_t> inputs, constants_used;
  for (int64_t operand : operands_) {
    if (operand >= 0) {
      inputs.insert(operand);
    } else if (-1 - operand >= static_cast<int64_t>(initial_constants_.size())) {
      fail("operand " + std::to_string(operand) + " names constant " + std::to_string(-1 - operand) + " of " +
           std::to_string(initial_constants_.size()));
    } else {
      constants_used.insert(-1 - operand);
    }
  }
  if (constants_used.size() != initial_constants_.size()) fail("holds constants that no operand uses");
  for (const Tensor& c : initial_constants_) {
    if (!c.defined()) fail("a constant is undefined");
  }
  inputs_ = static_cast<int>(inputs.size());
  if (!inputs.empty() && *inputs.rbegin() != inputs_ - 1) fail("the inputs used must be 0.." + std::to_string(inputs_ - 1));
}

void OpLayer::build(const Shape&) { build(std::vector<Shape>{}); }

void OpLayer::build(const std::vector<Shape>&) {
  for (size_t j = 0; j < initial_constants_.size(); ++j) {
    const Tensor value = initial_constants_[j];
    constants_.push_back(add_weight("constant_" + std::to_string(j), value.shape(),
                                    FromFunction([value](const Shape&, DType) { return value.clone(); }), nullptr, false,
                                    value.dtype()));
  }
  initial_constants_.clear();  // the weights hold the values now
}

Tensor OpLayer::call(const Tensor& x, bool training) { return call(std::vector<Tensor>{x}, training); }

Tensor OpLayer::call(const std::vector<Tensor>& xs, bool) {
  if (static_cast<int>(xs.size()) != inputs_) {
    fail("takes " + std::to_string(inputs_) + " input(s), got " + std::to_string(xs.size()));
  }
  std::vector<Tensor> args;
  for (int64_t operand : operands_) args.push_back(operand >= 0 ? xs[operand] : Tensor(constants_[-1 - operand]));
  return call_op(op_, args, attrs_).at(0);
}

std::vector<Tensor> OpLayer::constants() const {
  if (constants_.empty()) return initial_constants_;
  return std::vector<Tensor>(constants_.begin(), constants_.end());
}

Attrs OpLayer::get_config() const {
  std::vector<int64_t> shapes, dtypes;
  for (const Tensor& c : constants()) {
    shapes.push_back(c.rank());
    shapes.insert(shapes.end(), c.shape().begin(), c.shape().end());
    dtypes.push_back(static_cast<int64_t>(c.dtype()));
  }
  Attrs config{{"name", name()}, {"op", op_}, {"operands", operands_}, {"constant_shapes", shapes}, {"constant_dtypes", dtypes}};
  for (const auto& [key, value] : attrs_.items()) config.set("attr:" + key, value);
  return config;
}

}  // namespace loom::nn
