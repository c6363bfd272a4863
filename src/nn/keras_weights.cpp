// Model weights in Keras' HDF5 layout (save_weights / load_weights with a .h5 path).
#include <algorithm>

#include "io/keras_h5.hpp"
#include "loom/error.hpp"
#include "nn/weight_files.hpp"

namespace loom::nn::internal {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Keras' layers of a model that hold weights, in order (the ones its load_weights matches).
std::vector<LayerPtr> layers_with_weights(const Model& model) {
  std::vector<LayerPtr> out;
  for (const LayerPtr& layer : model.layers()) {
    if (!layer->weights().empty()) out.push_back(layer);
  }
  return out;
}

}  // namespace

bool is_keras_h5_path(const std::string& path) { return ends_with(path, ".h5") || ends_with(path, ".hdf5"); }

void save_keras_weights(const Model& model, const std::string& path) {
  std::vector<io::KerasLayerWeights> layers;
  for (const LayerPtr& layer : model.layers()) {
    io::KerasLayerWeights entry{layer->name(), {}};
    for (const Variable& v : layer->weights()) entry.weights.emplace_back(v.name() + ":0", Tensor(v));
    layers.push_back(std::move(entry));
  }
  io::save_keras_h5(path, layers, "save_weights");
}

void load_keras_weights(const Model& model, const std::string& path, bool strict) {
  const io::KerasH5Reader file(path, "load_weights");
  const std::vector<LayerPtr> targets = layers_with_weights(model);
  if (targets.empty()) {
    throw InvalidArgument("[load_weights] the model has no weights yet: build it first (call it on an input, or give "
                          "Sequential an input shape)");
  }
  std::vector<size_t> sources;  // the file's layers with weights, by position
  for (size_t i = 0; i < file.layers().size(); ++i) {
    if (!file.layers()[i].weights.empty()) sources.push_back(i);
  }
  std::vector<std::string> missing, unexpected, mismatched;
  for (size_t k = sources.size(); k < targets.size(); ++k) missing.push_back("layer '" + targets[k]->name() + "'");
  for (size_t k = targets.size(); k < sources.size(); ++k) unexpected.push_back("layer '" + file.layers()[sources[k]].name + "'");
  const size_t pairs = std::min(sources.size(), targets.size());
  for (size_t k = 0; k < pairs; ++k) {
    const auto& in_file = file.layers()[sources[k]];
    const std::vector<Variable> weights = targets[k]->weights();
    const std::string pair = "layer '" + in_file.name + "' for layer '" + targets[k]->name() + "'";
    if (in_file.weights.size() != weights.size()) {
      mismatched.push_back(pair + ": " + std::to_string(in_file.weights.size()) + " weights vs " + std::to_string(weights.size()));
      continue;
    }
    for (size_t j = 0; j < weights.size(); ++j) {
      if (in_file.weights[j].shape != weights[j].shape()) {
        mismatched.push_back(in_file.weights[j].name + " (" + pair + ") " + in_file.weights[j].shape.str() + " vs " +
                             weights[j].shape().str());
      }
    }
  }
  check_weights_match(missing, unexpected, mismatched, strict, path, "load_weights");
  // Every value is read before any is assigned: a file that fails halfway changes nothing.
  std::vector<std::pair<Variable, Tensor>> values;
  for (size_t k = 0; k < pairs; ++k) {
    const std::vector<Variable> weights = targets[k]->weights();
    for (size_t j = 0; j < weights.size(); ++j) values.emplace_back(weights[j], file.read(sources[k], j, weights[j].dtype()));
  }
  for (auto& [variable, value] : values) variable.assign(value);
}

}  // namespace loom::nn::internal
