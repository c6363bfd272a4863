#pragma once
// Keras-style layers: weights are created lazily by build(input_shape) on the first call,
// exactly once; call(x, training) computes the output with public ops only, so every layer
// runs on every device and is differentiable by the gradient tape.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/nn/initializers.hpp"
#include "loom/nn/regularizers.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

namespace loom::nn {

class Layer;
using LayerPtr = std::shared_ptr<Layer>;

class LOOM_API Layer : public std::enable_shared_from_this<Layer> {
 public:
  // `name` empty: a unique name from the layer's kind ("dense", "dense_1", ...).
  explicit Layer(std::string kind, std::string name = "");
  virtual ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // Builds on first use (from the input's shape), then calls call().
  Tensor operator()(const Tensor& x, bool training = false);
  // Multi-input layers (Concatenate, Add).
  Tensor operator()(const std::vector<Tensor>& xs, bool training = false);

  // Creates the weights for this input shape (the batch axis included). Called once.
  virtual void build(const Shape& input_shape);
  virtual void build(const std::vector<Shape>& input_shapes);
  virtual Tensor call(const Tensor& x, bool training);
  virtual Tensor call(const std::vector<Tensor>& xs, bool training);
  // Output shape for an input shape (batch axis included); used by Sequential's summary.
  virtual Shape compute_output_shape(const Shape& input_shape);
  bool built() const { return built_; }
  // The input shape the layer was built for (batch axis -1 when unknown; empty if not built).
  const Shape& input_shape() const { return input_shape_; }
  // Builds now from a known input shape (what Keras' input_shape= argument does).
  void build_for(const Shape& input_shape);

  const std::string& name() const { return name_; }
  bool trainable() const { return trainable_; }
  void set_trainable(bool trainable) { trainable_ = trainable; }

  // Weights of this layer and its sublayers (each once, in creation order).
  std::vector<Variable> weights() const;
  std::vector<Variable> trainable_weights() const;
  std::vector<Variable> non_trainable_weights() const;
  std::vector<Tensor> get_weights() const;  // copies of the values
  // Weights keyed by their place in the layer tree ("kernel", "2/bias", "1/0/gamma": sublayer
  // positions, then the weight's own name). Two instances of one architecture share the keys,
  // which is what weight files use.
  std::vector<std::pair<std::string, Variable>> weight_paths() const;
  void set_weights(const std::vector<Tensor>& values);
  // Penalties of the regularizers of every weight, at the current values, plus added losses.
  std::vector<Tensor> losses() const;

  // Sublayers registered with track(), in order.
  const std::vector<LayerPtr>& sublayers() const { return sublayers_; }
  template <class L>
  std::shared_ptr<L> track(std::shared_ptr<L> layer) {
    track_layer(layer);
    return layer;
  }
  void track_layer(const LayerPtr& layer);

  // State that is not a weight but must survive a checkpoint (e.g. Dropout's draw counter).
  virtual std::map<std::string, std::string> extra_state() const { return {}; }
  virtual void set_extra_state(const std::map<std::string, std::string>&) {}
  // Every layer reachable from this one, this one first (depth first, each once).
  std::vector<Layer*> all_layers();

 protected:
  Variable add_weight(const std::string& name, const Shape& shape, InitializerPtr initializer = GlorotUniform(),
                      RegularizerPtr regularizer = nullptr, bool trainable = true, DType dtype = DType::Float32);
  // A loss term computed during call() (Keras' add_loss); cleared at each call of this layer.
  void add_loss(const Tensor& loss) { call_losses_.push_back(loss); }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void collect(std::vector<Layer*>& out);
  struct Weight {
    Variable variable;
    std::string local_name;
    RegularizerPtr regularizer;
  };
  std::string name_;
  Shape input_shape_;
  bool built_ = false;
  bool trainable_ = true;
  std::vector<Weight> weights_;
  std::vector<LayerPtr> sublayers_;
  std::vector<Tensor> call_losses_;
};

}  // namespace loom::nn
