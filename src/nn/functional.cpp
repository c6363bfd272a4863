// The functional API: symbolic tensors, the layer calls they record, and Functional models that
// run the recorded calls eagerly in order.
#include "loom/nn/functional.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"

namespace loom::nn {
namespace {

[[noreturn]] void undefined_symbolic(const std::string& where) {
  throw InvalidArgument("[" + where + "] the symbolic tensor is empty (default-constructed)");
}

std::string shapes_of(const std::vector<SymbolicTensor>& xs) {
  std::string s;
  for (const SymbolicTensor& x : xs) s += (s.empty() ? "" : " and ") + x.shape().str();
  return s;
}

std::string type_of(const Layer& layer) {
  const std::string t = layer.type_name();
  return t.empty() ? "custom layer" : t;
}

bool is_input_node(const GraphNode& node) { return node.inputs.empty(); }

// Calls `layer` on zeros shaped like the symbolic inputs (batch 1) to build it and learn its
// output shapes and dtypes; errors name the layer and the input shapes, now rather than at fit.
std::vector<SymbolicTensor> record_call(Layer& layer, const std::vector<SymbolicTensor>& inputs, bool list_call) {
  if (inputs.empty()) throw InvalidArgument("[" + layer.name() + "] is called on no symbolic tensor");
  for (const SymbolicTensor& x : inputs) {
    if (!x.defined()) undefined_symbolic(layer.name());
  }
  LayerPtr self;
  try {
    self = layer.shared_from_this();
  } catch (const std::bad_weak_ptr&) {
    throw InvalidArgument("[" + layer.name() + "] a layer in a functional model must be held by a shared_ptr "
                          "(std::make_shared)");
  }
  std::vector<Tensor> probes;
  for (const SymbolicTensor& x : inputs) {
    Shape s = x.shape();
    if (!s.empty() && s[0] < 0) s[0] = 1;
    probes.push_back(zeros(s, x.dtype()));
  }
  std::vector<Tensor> outputs;
  {
    NoGradGuard no_grad;
    try {
      if (!list_call) layer.build_for(inputs[0].shape());
      outputs = layer.call_outputs(probes, list_call, false);
    } catch (const Error& e) {
      throw_error(e.code(), "[" + layer.name() + "] (" + type_of(layer) + ") cannot be called on input shape " +
                                shapes_of(inputs) + ": " + e.what());
    }
  }
  auto node = std::make_shared<GraphNode>();
  node->layer = self;
  node->inputs = inputs;
  node->list_call = list_call;
  for (const Tensor& out : outputs) {
    Shape s = out.shape();
    if (!s.empty()) s[0] = -1;
    node->shapes.push_back(s);
    node->dtypes.push_back(out.dtype());
  }
  std::vector<SymbolicTensor> result;
  for (size_t i = 0; i < outputs.size(); ++i) result.push_back(GraphNode::output(node, static_cast<int>(i)));
  return result;
}

SymbolicTensor only_output(const Layer& layer, std::vector<SymbolicTensor> outputs) {
  if (outputs.size() != 1) {
    throw InvalidArgument("[" + layer.name() + "] has " + std::to_string(outputs.size()) +
                          " outputs: use apply() to get all of them");
  }
  return outputs[0];
}

}  // namespace

const Shape& SymbolicTensor::shape() const {
  if (!node_) undefined_symbolic("SymbolicTensor.shape");
  return node_->shapes[static_cast<size_t>(index_)];
}

DType SymbolicTensor::dtype() const {
  if (!node_) undefined_symbolic("SymbolicTensor.dtype");
  return node_->dtypes[static_cast<size_t>(index_)];
}

LayerPtr SymbolicTensor::layer() const {
  if (!node_) undefined_symbolic("SymbolicTensor.layer");
  return node_->layer;
}

std::string SymbolicTensor::name() const {
  if (!node_) undefined_symbolic("SymbolicTensor.name");
  return node_->shapes.size() == 1 ? node_->layer->name() : node_->layer->name() + ":" + std::to_string(index_);
}

SymbolicTensor Layer::operator()(const SymbolicTensor& x) { return only_output(*this, record_call(*this, {x}, false)); }

SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& xs) {
  return only_output(*this, record_call(*this, xs, true));
}

std::vector<SymbolicTensor> apply(const LayerPtr& layer, const std::vector<SymbolicTensor>& inputs) {
  return apply(layer, inputs, inputs.size() > 1);
}

std::vector<SymbolicTensor> apply(const LayerPtr& layer, const std::vector<SymbolicTensor>& inputs, bool list_call) {
  if (!layer) throw InvalidArgument("[apply] the layer is null");
  if (!list_call && inputs.size() != 1) {
    throw InvalidArgument("[" + layer->name() + "] takes one input unless called with a list, got " + std::to_string(inputs.size()));
  }
  return record_call(*layer, inputs, list_call);
}

InputLayer::InputLayer(const Shape& shape, DType dtype, std::string name) : Layer("input", std::move(name)), dtype_(dtype) {
  for (int64_t d : shape) {
    if (d < 0) fail("dimensions must be >= 0 (the batch axis is implied), got shape " + shape.str());
  }
  Shape with_batch{-1};
  for (int64_t d : shape) with_batch.push_back(d);
  build_for(with_batch);
}

// Values of another dtype are cast to the input's, as Keras does.
Tensor InputLayer::call(const Tensor& x, bool) {
  const Shape& want = input_shape();
  bool fits = x.rank() == want.rank();
  for (int i = 1; fits && i < x.rank(); ++i) fits = x.shape()[i] == want[i];
  if (!fits) fail("expected inputs of shape " + want.str() + " (-1: any batch size), got " + x.shape().str());
  return x.dtype() == dtype_ ? x : cast(x, dtype_);
}

Attrs InputLayer::get_config() const {
  const Shape& s = input_shape();
  return Attrs{{"name", name()}, {"shape", std::vector<int64_t>(s.begin() + 1, s.end())}, {"dtype", dtype_}};
}

SymbolicTensor Input(const Shape& shape, DType dtype, std::string name) {
  auto layer = std::make_shared<InputLayer>(shape, dtype, std::move(name));
  auto node = std::make_shared<GraphNode>();
  node->layer = layer;
  node->shapes = {layer->input_shape()};
  node->dtypes = {dtype};
  return GraphNode::output(node, 0);
}

Functional::Functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : Model("functional", std::move(name)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
  if (inputs_.empty() || outputs_.empty()) fail("needs at least one input and one output");
  std::set<const GraphNode*> input_nodes;
  for (const SymbolicTensor& x : inputs_) {
    if (!x.defined()) undefined_symbolic(this->name());
    if (!is_input_node(*x.node_)) fail("input '" + x.name() + "' is not an Input(): a model's inputs come from Input()");
    if (!input_nodes.insert(x.node_.get()).second) fail("input '" + x.name() + "' is given twice");
  }
  // Depth-first from the outputs: every node after the nodes it reads.
  std::set<const GraphNode*> done;
  std::function<void(const std::shared_ptr<GraphNode>&, const std::string&)> visit =
      [&](const std::shared_ptr<GraphNode>& node, const std::string& output) {
        if (done.count(node.get())) return;
        if (is_input_node(*node) && !input_nodes.count(node.get())) {
          fail("output '" + output + "' depends on input '" + node->layer->name() + "', which is not among the model's inputs");
        }
        for (const SymbolicTensor& in : node->inputs) visit(in.node_, output);
        done.insert(node.get());
        nodes_.push_back(node);
      };
  for (const SymbolicTensor& y : outputs_) {
    if (!y.defined()) undefined_symbolic(this->name());
    visit(y.node_, y.name());
  }
  // Inputs first, in the given order (also those no output uses), then the calls.
  std::stable_partition(nodes_.begin(), nodes_.end(), [](const auto& n) { return is_input_node(*n); });
  std::vector<std::shared_ptr<GraphNode>> ordered;
  for (const SymbolicTensor& x : inputs_) ordered.push_back(x.node_);
  for (const auto& n : nodes_) {
    if (!is_input_node(*n)) ordered.push_back(n);
  }
  nodes_ = std::move(ordered);
  std::map<std::string, const Layer*> names;
  for (const LayerPtr& layer : layers()) {
    auto [it, fresh] = names.emplace(layer->name(), layer.get());
    if (!fresh) fail("two layers are named '" + layer->name() + "': names must be unique in a model");
    if (layer.get() == this) fail("a model cannot contain itself");
    if (!dynamic_cast<const InputLayer*>(layer.get())) track_layer(layer);
  }
  build_for(inputs_[0].shape());  // marks the model built: its layers hold the weights
}

std::vector<LayerPtr> Functional::layers() const {
  std::vector<LayerPtr> out;
  for (const auto& node : nodes_) {
    if (std::find(out.begin(), out.end(), node->layer) == out.end()) out.push_back(node->layer);
  }
  return out;
}

std::vector<std::string> Functional::output_names() const {
  std::vector<std::string> names;
  for (const SymbolicTensor& y : outputs_) names.push_back(y.name());
  return names;
}

std::vector<Tensor> Functional::call_outputs(const std::vector<Tensor>& inputs, bool, bool training) {
  if (inputs.size() != inputs_.size()) {
    fail("expects " + std::to_string(inputs_.size()) + " input(s), got " + std::to_string(inputs.size()));
  }
  std::map<const GraphNode*, std::vector<Tensor>> values;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const GraphNode& node = *inputs_[i].node_;
    values[&node] = {(*node.layer)(inputs[i], training)};
  }
  for (const auto& node : nodes_) {
    if (is_input_node(*node)) continue;
    std::vector<Tensor> args;
    for (const SymbolicTensor& in : node->inputs) args.push_back(values.at(in.node_.get())[static_cast<size_t>(in.index_)]);
    values[node.get()] = node->layer->call_outputs(args, node->list_call, training);
  }
  std::vector<Tensor> out;
  for (const SymbolicTensor& y : outputs_) out.push_back(values.at(y.node_.get())[static_cast<size_t>(y.index_)]);
  return out;
}

Tensor Functional::call(const Tensor& x, bool training) { return call(std::vector<Tensor>{x}, training); }

Tensor Functional::call(const std::vector<Tensor>& xs, bool training) {
  std::vector<Tensor> out = call_outputs(xs, xs.size() > 1, training);
  if (out.size() != 1) fail("has " + std::to_string(out.size()) + " outputs: use predict_all or call_outputs");
  return out[0];
}

Shape Functional::compute_output_shape(const Shape& input_shape) {
  if (outputs_.size() != 1) fail("has " + std::to_string(outputs_.size()) + " outputs, so no single output shape");
  Shape s = outputs_[0].shape();
  if (!s.empty() && !input_shape.empty()) s[0] = input_shape[0];
  return s;
}

Attrs Functional::get_config() const { return Attrs{{"name", name()}}; }

}  // namespace loom::nn
