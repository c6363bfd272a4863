#pragma once
// Keras-style layers: weights are created lazily by build(input_shape) on the first call,
// exactly once; call(x, training) computes the output with public ops only, so every layer
// runs on every device and is differentiable by the gradient tape.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/nn/initializers.hpp"
#include "loom/nn/policy.hpp"
#include "loom/nn/regularizers.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

/// Keras-style neural networks: layers, models, optimizers, losses, metrics, initializers,
/// regularizers and callbacks.
namespace loom::nn {

class Layer;
/// Layers are shared: models, containers and the C ABI hold them by shared pointer.
using LayerPtr = std::shared_ptr<Layer>;
class SymbolicTensor;

/// Base of every layer (Keras' keras.layers.Layer).
///
/// Weights are created lazily by build(input_shape) on the first call, exactly once;
/// call(x, training) computes the output. Subclass it and override build() and call(); errors
/// of a layer are InvalidArguments that start with its name in brackets.
class LOOM_API Layer : public std::enable_shared_from_this<Layer> {
 public:
  /// A layer of kind `kind` ("dense"); `name` empty: a unique name from the kind ("dense",
  /// "dense_1", ...).
  explicit Layer(std::string kind, std::string name = "");
  virtual ~Layer();
  Layer(const Layer&) = delete;             ///< Not copyable.
  Layer& operator=(const Layer&) = delete;  ///< Not copyable.

  /// Builds on first use (from the input's shape), then calls call(). InvalidArgument for an
  /// undefined input.
  Tensor operator()(const Tensor& x, bool training = false);
  /// Same as above, for multi-input layers (Concatenate, Add).
  Tensor operator()(const std::vector<Tensor>& xs, bool training = false);
  /// Calls the layer on a symbolic tensor of a functional model (see Input()): builds it,
  /// records the call and returns its symbolic output. Shape errors name the layer and the input
  /// shapes here, when the graph is built.
  SymbolicTensor operator()(const SymbolicTensor& x);
  /// Same as above, for multi-input layers (merge layers, nested models with several inputs).
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs);
  /// All outputs of a call on `inputs` (one tensor for most layers; one per output for a
  /// functional model with several). `list_call`: the inputs go to call() as a list, as for
  /// multi-input layers, rather than as one tensor.
  virtual std::vector<Tensor> call_outputs(const std::vector<Tensor>& inputs, bool list_call, bool training);

  /// Creates the weights for this input shape (the batch axis included). Called once; the
  /// default creates none.
  virtual void build(const Shape& input_shape);
  /// Same as above, for multi-input layers; the default builds from the only shape when there
  /// is one, and does nothing otherwise.
  virtual void build(const std::vector<Shape>& input_shapes);
  /// Computes the output; `training` selects training behaviour (dropout, batch statistics).
  /// The default throws InvalidArgument: single-input layers override it.
  virtual Tensor call(const Tensor& x, bool training);
  /// Same as above, for several inputs; the default calls call(x, training) with the only
  /// input and rejects other counts (InvalidArgument).
  virtual Tensor call(const std::vector<Tensor>& xs, bool training);
  /// Output shape for an input shape (batch axis included); used by Sequential's summary. The
  /// default runs the layer on zeros of that shape (batch 1 where it is -1).
  virtual Shape compute_output_shape(const Shape& input_shape);
  /// Whether the weights exist.
  bool built() const { return built_; }
  /// The input shape the layer was built for (batch axis -1 when unknown; empty if not built).
  const Shape& input_shape() const { return input_shape_; }
  /// Builds now from a known input shape (what Keras' input_shape= argument does); does nothing
  /// when already built.
  void build_for(const Shape& input_shape);

  /// The layer's unique name.
  const std::string& name() const { return name_; }
  /// The type name that layer_from_config() rebuilds it from ("Dense", "Conv2D", ..., or the
  /// name a custom layer type was registered under); empty for a layer without one.
  virtual std::string type_name() const { return ""; }
  /// The arguments that layer_from_config(type_name(), get_config()) rebuilds it from (Keras'
  /// get_config()); the name is included. Empty for a layer without a type name.
  virtual Attrs get_config() const { return {}; }
  /// Whether its weights are trained (a frozen layer freezes its sublayers too).
  bool trainable() const { return trainable_; }
  /// Freezes (false) or unfreezes the layer.
  void set_trainable(bool trainable) { trainable_ = trainable; }
  /// The dtype policy: the global policy when the layer was made, unless set.
  const Policy& dtype_policy() const { return policy_; }
  /// Sets the dtype policy ("mixed_bfloat16", ...); InvalidArgument once the layer is built
  /// with another variable dtype.
  void set_dtype_policy(const Policy& policy);

  /// Weights of this layer and its sublayers (each once, in creation order).
  std::vector<Variable> weights() const;
  /// The weights that training updates: trainable variables not under a frozen layer.
  std::vector<Variable> trainable_weights() const;
  /// The other weights (moving statistics, frozen weights).
  std::vector<Variable> non_trainable_weights() const;
  /// Copies of the values of weights(), in the same order.
  std::vector<Tensor> get_weights() const;
  /// Weights keyed by their place in the layer tree ("kernel", "2/bias", "1/0/gamma": sublayer
  /// positions, then the weight's own name). Two instances of one architecture share the keys,
  /// which is what weight files use.
  std::vector<std::pair<std::string, Variable>> weight_paths() const;
  /// Assigns values in the order of weights(), converting dtypes. The count and every shape
  /// must match (InvalidArgument otherwise; nothing is assigned then).
  void set_weights(const std::vector<Tensor>& values);
  /// Penalties of the regularizers of every weight, at the current values, plus added losses.
  std::vector<Tensor> losses() const;

  /// Sublayers registered with track(), in order.
  const std::vector<LayerPtr>& sublayers() const { return sublayers_; }
  /// Registers `layer` as a sublayer (for weights, losses and saving) and returns it:
  /// `dense_ = track(std::make_shared<Dense>(10));`.
  template <class L>
  std::shared_ptr<L> track(std::shared_ptr<L> layer) {
    track_layer(layer);
    return layer;
  }
  /// Registers `layer` as a sublayer; InvalidArgument for null or this layer itself.
  void track_layer(const LayerPtr& layer);

  /// State that is not a weight but must survive a checkpoint (Dropout's draw counter, say);
  /// none by default.
  virtual std::map<std::string, std::string> extra_state() const { return {}; }
  /// Restores what extra_state() returned; ignores it by default.
  virtual void set_extra_state(const std::map<std::string, std::string>&) {}
  /// Every layer reachable from this one, this one first (depth first, each once).
  std::vector<Layer*> all_layers();

 protected:
  /// Creates a weight named `layer_name/name` with values from `initializer` (build() calls
  /// this). A float32 weight takes the policy's variable dtype. InvalidArgument if the layer
  /// already has a weight of that name.
  Variable add_weight(const std::string& name, const Shape& shape, InitializerPtr initializer = GlorotUniform(),
                      RegularizerPtr regularizer = nullptr, bool trainable = true, DType dtype = DType::Float32);
  /// A loss term computed during call() (Keras' add_loss); cleared at each call of this layer.
  void add_loss(const Tensor& loss) { call_losses_.push_back(loss); }
  /// Throws InvalidArgument with the message `[layer_name] what`.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void collect(std::vector<Layer*>& out);
  struct Weight {
    Variable variable;
    std::string local_name;
    RegularizerPtr regularizer;
  };
  std::string name_;
  Policy policy_;
  Shape input_shape_;
  bool built_ = false;
  bool trainable_ = true;
  std::vector<Weight> weights_;
  std::vector<LayerPtr> sublayers_;
  std::vector<Tensor> call_losses_;
};

}  // namespace loom::nn
