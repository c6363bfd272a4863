#pragma once
// Weight files beside loom's own: Keras' HDF5 layout for paths ending in .h5 or .hdf5, and the
// report that every weight loader gives when a file does not match the model.
#include <string>
#include <vector>

#include "loom/nn/model.hpp"

namespace loom::nn::internal {

// Whether save_weights / load_weights use Keras' HDF5 layout for `path` (.h5, .hdf5).
bool is_keras_h5_path(const std::string& path);
// The model's layers in Keras' layout: every layer of model.layers() as a group, its weights as
// datasets "<variable name>:0".
void save_keras_weights(const Model& model, const std::string& path);
// Keras' HDF5 weights, matched to the model as Keras' load_weights does: the layers that have
// weights, by position, and their weights in order. Strictness and errors as assign_weights.
void load_keras_weights(const Model& model, const std::string& path, bool strict);

// Throws InvalidArgument "[who] 'path' does not match the model: missing: ...; unexpected: ...;
// shape mismatch (file vs model): ...;" when there is a mismatch, or (when strict) anything
// missing or unexpected; does nothing otherwise.
void check_weights_match(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                         const std::vector<std::string>& mismatched, bool strict, const std::string& path, const char* who);

}  // namespace loom::nn::internal
