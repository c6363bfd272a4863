#pragma once
// Layers, optimizers and losses built from a type name and named arguments (Keras argument
// names), as keras.layers.deserialize does. The C ABI and configuration-driven programs use
// these; an argument the type does not take is an error that lists the ones it does.
#include <functional>
#include <string>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/nn/layer.hpp"
#include "loom/nn/losses.hpp"
#include "loom/nn/model.hpp"
#include "loom/nn/optimizers.hpp"

namespace loom::nn {

/// A layer from its type and Keras-named arguments: Dense, Conv2D, MaxPool2D, AvgPool2D,
/// GlobalAvgPool2D, Flatten, Reshape, Permute, Dropout, Activation, BatchNormalization,
/// Concatenate, the merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum) and
/// OpLayer. Window layers take "padding" as "same", "valid" or {top, bottom, left, right}.
/// NotFoundError for an unknown type; InvalidArgument for an argument the type does not take.
LOOM_API LayerPtr layer_from_config(const std::string& type, const Attrs& config);

/// Makes a layer of a registered custom type from its config (what its get_config() returned).
using LayerFactory = std::function<LayerPtr(const Attrs& config)>;
/// Registers a custom layer (or subclassed model) type under `type_name`, so that
/// layer_from_config() and load_model() can build it; its class should return the same name
/// from type_name() and its arguments from get_config(). A later registration of the name
/// replaces the earlier one; InvalidArgument for an empty name, a built-in type's name or an
/// empty factory.
LOOM_API void register_layer_type(const std::string& type_name, LayerFactory factory);
/// The registered custom type names, sorted.
LOOM_API std::vector<std::string> registered_layer_types();
/// An optimizer by name (sgd, adam, adamw, rmsprop) with Keras-named arguments; NotFoundError
/// for an unknown name, InvalidArgument for an argument it does not take.
LOOM_API OptimizerPtr optimizer_from_config(const std::string& name, const Attrs& config);
/// A loss by one of the names of get_loss; `from_logits` is the only argument, and only for the
/// cross-entropies.
LOOM_API LossPtr loss_from_config(const std::string& name, const Attrs& config);

/// FitOptions from the arguments epochs, batch_size, validation_split, shuffle, seed, verbose,
/// initial_epoch, and distributed (true: a MultiWorkerMirroredStrategy, which needs
/// dist::init()) with bucket_bytes (others are an InvalidArgument).
LOOM_API FitOptions fit_options_from_config(const Attrs& config);

}  // namespace loom::nn
