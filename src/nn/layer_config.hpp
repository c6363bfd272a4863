#pragma once
// The configuration arguments Dense and Conv2D share (Keras names), written by their
// get_config() and read back by layer_from_config(), and the window layers' padding.
#include "core/internal_api.hpp"
#include "loom/attrs.hpp"
#include <optional>

#include "loom/nn/initializers.hpp"
#include "loom/nn/layer.hpp"
#include "loom/nn/regularizers.hpp"
#include "loom/nn_ops.hpp"

namespace loom::nn::internal {

template <class Options>
void common_config(Attrs& config, const Options& o) {
  config.set("activation", o.activation);
  config.set("use_bias", o.use_bias);
  if (o.kernel_initializer && !o.kernel_initializer->name().empty()) config.set("kernel_initializer", o.kernel_initializer->name());
  if (o.bias_initializer && !o.bias_initializer->name().empty()) config.set("bias_initializer", o.bias_initializer->name());
  if (o.kernel_regularizer) {
    const Attrs penalty = o.kernel_regularizer->get_config();
    for (const auto& [k, v] : penalty.items()) config.set(k, v);
  }
}

// A window layer's "padding" argument: the mode, or the explicit {top, bottom, left, right}.
inline AttrValue padding_config(const Padding& padding) {
  if (padding.mode == "explicit") return padding.explicit_pads;
  return padding.mode;
}

// Sequential's fusions of consecutive layers: a Conv2D with relu, or an Activation("relu"), then a
// MaxPool2D, as one op whose gradient masks the pooled gradient (ops/conv_pool.hpp). The result of
// second(first(x)), or nothing where the pair does not qualify: both built, exactly these
// classes, x of the rank and channel count they were built for, and already in their common
// compute dtype (so that Layer's call would neither build nor cast).
LOOM_INTERNAL_API std::optional<Tensor> max_pool_fusion(Layer& first, Layer& second, const Tensor& x);

}  // namespace loom::nn::internal
