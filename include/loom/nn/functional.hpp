#pragma once
/// \file
/// Keras' functional API: Input() gives a symbolic tensor, calling layers on symbolic tensors
/// records a graph, and Functional(inputs, outputs) makes a model of it. Running the model is
/// plain eager execution of the recorded layer calls in order, so every layer, the gradient tape
/// and every device work unchanged.
#include <memory>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/nn/model.hpp"

namespace loom::nn {

struct GraphNode;  // one recorded layer call (private to libloom)

/// A tensor of a functional model's graph: the output of Input() or of a layer called on
/// symbolic tensors. It holds a shape (batch axis -1) and a dtype, not values.
class LOOM_API SymbolicTensor {
 public:
  SymbolicTensor() = default;
  /// Whether it refers to a graph node (false for a default-constructed one).
  bool defined() const { return node_ != nullptr; }
  /// The shape, batch axis first as -1.
  const Shape& shape() const;
  /// The dtype.
  DType dtype() const;
  /// The layer whose call produced it (an InputLayer for an input).
  LayerPtr layer() const;
  /// "layer_name" for a layer's only output, "layer_name:i" for output i of several.
  std::string name() const;

 private:
  friend class Layer;
  friend class Functional;
  friend struct GraphNode;
  SymbolicTensor(std::shared_ptr<GraphNode> node, int index) : node_(std::move(node)), index_(index) {}
  std::shared_ptr<GraphNode> node_;
  int index_ = 0;
};

/// The layer behind each Input(): it holds the input's shape and dtype and passes values
/// through (Keras' InputLayer).
class LOOM_API InputLayer : public Layer {
 public:
  /// An input of `shape` (without the batch axis) and `dtype`; `name` empty: "input", "input_1", ...
  InputLayer(const Shape& shape, DType dtype, std::string name = "");
  Tensor call(const Tensor& x, bool training) override;
  std::string type_name() const override { return "InputLayer"; }
  Attrs get_config() const override;
  /// The dtype of the input.
  DType dtype() const { return dtype_; }

 private:
  DType dtype_;
};

/// A symbolic input of a functional model: `shape` without the batch axis (Keras'
/// keras.Input(shape, dtype, name)).
LOOM_API SymbolicTensor Input(const Shape& shape, DType dtype = DType::Float32, std::string name = "");

/// Calls `layer` on symbolic tensors and returns all its outputs (a functional model with
/// several outputs gives several); several inputs go to it as a list, as for merge layers.
LOOM_API std::vector<SymbolicTensor> apply(const LayerPtr& layer, const std::vector<SymbolicTensor>& inputs);
/// Same as above; `list_call` says whether the inputs go to the layer as a list (true for merge
/// layers, even with one input) or as one tensor.
LOOM_API std::vector<SymbolicTensor> apply(const LayerPtr& layer, const std::vector<SymbolicTensor>& inputs, bool list_call);

/// A model built from symbolic inputs and outputs (keras.Model(inputs, outputs)): multiple
/// inputs and outputs, shared layers (a layer called twice shares its weights), merge layers,
/// and any layer or model inside. It trains with compile / fit / evaluate / predict, nests in
/// other models, and summary() lists the graph.
class LOOM_API Functional : public Model {
 public:
  /// InvalidArgument when an output does not depend on the given inputs only, when an input is
  /// not an Input(), or when two layers share a name.
  Functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name = "");
  /// The single output for a single input (InvalidArgument for models with several).
  Tensor call(const Tensor& x, bool training) override;
  /// The single output for several inputs.
  Tensor call(const std::vector<Tensor>& xs, bool training) override;
  std::vector<Tensor> call_outputs(const std::vector<Tensor>& inputs, bool list_call, bool training) override;
  Shape compute_output_shape(const Shape& input_shape) override;
  std::string type_name() const override { return "Functional"; }
  Attrs get_config() const override;

  /// The model's symbolic inputs.
  const std::vector<SymbolicTensor>& inputs() const { return inputs_; }
  /// The model's symbolic outputs.
  const std::vector<SymbolicTensor>& outputs() const { return outputs_; }
  /// The recorded layer calls in execution order (each input first).
  const std::vector<std::shared_ptr<GraphNode>>& nodes() const { return nodes_; }
  /// Every layer of the graph once, in execution order (input layers included, as Keras).
  std::vector<LayerPtr> layers() const override;
  /// The outputs' names: their layers' names ("name:i" for output i of a layer with several).
  std::vector<std::string> output_names() const override;

 private:
  std::vector<SymbolicTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<GraphNode>> nodes_;
};

/// One recorded layer call of a functional graph.
struct GraphNode {
  LayerPtr layer;                      ///< The layer called.
  std::vector<SymbolicTensor> inputs;  ///< Its inputs.
  bool list_call = false;              ///< Whether the inputs were passed as a list.
  std::vector<Shape> shapes;           ///< The shapes of its outputs (batch axis -1).
  std::vector<DType> dtypes;           ///< The dtypes of its outputs.
  /// Output `index` of `node` as a symbolic tensor.
  static SymbolicTensor output(std::shared_ptr<GraphNode> node, int index) { return SymbolicTensor(std::move(node), index); }
  /// The node that makes `t`.
  static const std::shared_ptr<GraphNode>& node_of(const SymbolicTensor& t) { return t.node_; }
  /// Which output of its node `t` is.
  static int index_of(const SymbolicTensor& t) { return t.index_; }
};

}  // namespace loom::nn
