#pragma once
// Keras 2's HDF5 weight files (model.save_weights("w.h5"); docs/MODEL_FILES.md describes the
// layout): the root attribute layer_names lists the layers in order, each layer is a group whose
// attribute weight_names lists its weights in order, and each weight is a dataset at that name
// inside the layer's group ("dense/kernel:0").
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loom/tensor.hpp"

namespace loom::io {

/// One layer of a Keras weight file: its name and its weights in order, each with its name in
/// the file ("dense/kernel:0").
struct KerasLayerWeights {
  std::string name;
  std::vector<std::pair<std::string, Tensor>> weights;
};

/// Writes the layers in Keras' layout, atomically; `op` names the caller in errors (IOError for
/// a file that cannot be written, DTypeError for a weight of a dtype without an HDF5 type).
void save_keras_h5(const std::string& path, const std::vector<KerasLayerWeights>& layers, const char* op);

/// Reads a Keras weight file in two steps: the layout first (names and shapes, so that callers
/// check them before any value is read), then the values they ask for. The file's layers may also
/// sit under a "model_weights" group (Keras' whole-model files). IOError naming the file for
/// anything that is not HDF5 in Keras' layout.
class KerasH5Reader {
 public:
  /// One weight of a layer.
  struct Weight {
    std::string name;
    Shape shape;
  };
  /// One layer of the file's layer_names, in order.
  struct Layer {
    std::string name;
    std::vector<Weight> weights;
  };
  KerasH5Reader(const std::string& path, const char* op);
  ~KerasH5Reader();
  KerasH5Reader(const KerasH5Reader&) = delete;
  KerasH5Reader& operator=(const KerasH5Reader&) = delete;

  /// The layers, with and without weights.
  const std::vector<Layer>& layers() const { return layers_; }
  /// The values of weight `weight` of layer `layer`, converted to `dtype` by HDF5.
  Tensor read(size_t layer, size_t weight, DType dtype) const;

 private:
  struct File;
  std::unique_ptr<File> file_;
  std::string path_;
  const char* op_;
  std::vector<Layer> layers_;
};

}  // namespace loom::io
