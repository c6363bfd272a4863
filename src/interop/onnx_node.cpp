// The node being imported: its inputs, attributes, layouts, layers and errors.
#include <algorithm>

#include "interop/onnx_import.hpp"
#include "loom/error.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

namespace loom::interop {

std::string OnnxNode::where() const {
  const std::string name = node_.name().empty() ? "(unnamed)" : node_.name();
  return "[import_onnx] '" + state_.path + "': node '" + name + "' (" + node_.op_type() + "): ";
}

void OnnxNode::unsupported(const std::string& what) const { throw UnimplementedError(where() + what); }

void OnnxNode::malformed(const std::string& what) const { throw IOError(where() + what); }

const ImportValue& OnnxNode::input(int i) const {
  if (!has_input(i)) malformed("input " + std::to_string(i) + " is missing");
  return state_.values.at(node_.input(i));  // the graph walk made sure every input exists
}

const Tensor& OnnxNode::constant(int i, const std::string& what) const {
  const ImportValue& v = input(i);
  if (!v.is_constant()) unsupported(what + " (input " + std::to_string(i) + ") must be a constant of the file, not computed from the inputs");
  return *v.constant;
}

std::vector<int64_t> OnnxNode::constant_ints(int i, const std::string& what) const {
  const Tensor& t = constant(i, what);
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32) malformed(what + " must be integers, got " + dtype_name(t.dtype()));
  if (t.rank() > 1) malformed(what + " must be a list, got shape " + t.shape().str());
  return cast(t, DType::Int64).to_vector<int64_t>();
}

bool OnnxNode::all_constant() const {
  for (int i = 0; i < node_.input_size(); ++i) {
    if (has_input(i) && !input(i).is_constant()) return false;
  }
  return true;
}

const onnx::AttributeProto* OnnxNode::find_attr(const std::string& name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t OnnxNode::attr_int(const std::string& name, int64_t fallback) const {
  const auto* a = find_attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INT) malformed("attribute '" + name + "' is not an integer");
  return a->i();
}

double OnnxNode::attr_float(const std::string& name, double fallback) const {
  const auto* a = find_attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) malformed("attribute '" + name + "' is not a float");
  return a->f();
}

std::string OnnxNode::attr_string(const std::string& name, const std::string& fallback) const {
  const auto* a = find_attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::STRING) malformed("attribute '" + name + "' is not a string");
  return a->s();
}

std::vector<int64_t> OnnxNode::attr_ints(const std::string& name, std::vector<int64_t> fallback) const {
  const auto* a = find_attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INTS) malformed("attribute '" + name + "' is not a list of integers");
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

Shape OnnxNode::onnx_shape(const ImportValue& v) const {
  if (v.is_constant()) return v.constant->shape();
  const Shape& s = v.symbolic.shape();
  if (!v.channels_last) return s;
  return Shape{s[0], s[3], s[1], s[2]};
}

nn::SymbolicTensor OnnxNode::relayout(const std::string& value_name, const ImportValue& v, bool to_channels_last) {
  if (v.is_constant()) unsupported("value '" + value_name + "' must be computed from the graph's inputs here, not a constant");
  if (v.channels_last == to_channels_last) return v.symbolic;
  if (to_channels_last && v.symbolic.shape().rank() != 4) {
    unsupported("value '" + value_name + "' must be an image (rank 4), got shape " + v.symbolic.shape().str());
  }
  auto [it, fresh] = state_.relayouts.try_emplace({value_name, to_channels_last});
  if (fresh) {
    const std::vector<int64_t> dims = to_channels_last ? std::vector<int64_t>{2, 3, 1} : std::vector<int64_t>{3, 1, 2};
    it->second = apply(std::make_shared<nn::Permute>(dims, layer_name(to_channels_last ? "to_nhwc" : "to_nchw")), {v.symbolic});
  }
  return it->second;
}

nn::SymbolicTensor OnnxNode::in_onnx_layout(int i) { return relayout(node_.input(i), input(i), false); }

nn::SymbolicTensor OnnxNode::channels_last(int i) { return relayout(node_.input(i), input(i), true); }

std::string OnnxNode::layer_name(const std::string& suffix) {
  std::string base = node_.name().empty() ? node_.op_type() : node_.name();
  if (!suffix.empty()) base += "_" + suffix;
  // Layer names become weight names ("name/kernel") and HDF5 groups: no '/' in them.
  std::replace(base.begin(), base.end(), '/', '_');
  base.erase(0, base.find_first_not_of('_'));
  if (base.empty()) base = "onnx";
  std::string name = base;
  for (int i = 1; state_.layer_names.count(name); ++i) name = base + "_" + std::to_string(i);
  state_.layer_names.insert(name);
  return name;
}

nn::SymbolicTensor OnnxNode::apply(const nn::LayerPtr& layer, const std::vector<nn::SymbolicTensor>& inputs) {
  try {
    return nn::apply(layer, inputs, inputs.size() > 1).at(0);
  } catch (const Error& e) {
    throw_error(e.code(), where() + e.what());
  }
}

void OnnxNode::set_weights(const nn::LayerPtr& layer, const std::vector<Tensor>& values) {
  try {
    layer->set_weights(values);
  } catch (const Error& e) {
    throw_error(e.code() == ErrorCode::InvalidArgument ? ErrorCode::Shape : e.code(), where() + e.what());
  }
}

std::optional<Tensor> channels_last_constant(const Tensor& c) {
  if (c.rank() > 4) return std::nullopt;
  Shape four;
  for (int i = c.rank(); i < 4; ++i) four.push_back(1);
  for (int64_t d : c.shape()) four.push_back(d);
  return transpose(reshape(c, four), {0, 2, 3, 1});
}

}  // namespace loom::interop
