#pragma once
// Keras-style layers, models, optimizers, losses, metrics and callbacks.
#include "loom/data.hpp"
#include "loom/nn/callbacks.hpp"
#include "loom/nn/config.hpp"
#include "loom/nn/functional.hpp"
#include "loom/nn/initializers.hpp"
#include "loom/nn/layer.hpp"
#include "loom/nn/layers.hpp"
#include "loom/nn/losses.hpp"
#include "loom/nn/metrics.hpp"
#include "loom/nn/model.hpp"
#include "loom/nn/optimizers.hpp"
#include "loom/nn/regularizers.hpp"
