#pragma once
/// \file
/// Models in other frameworks' files: ONNX export and import (docs/MODEL_FILES.md). Keras' HDF5
/// weight files need nothing here: Model::save_weights and load_weights use them for paths
/// ending in .h5 or .hdf5.
#include <memory>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/nn/functional.hpp"

namespace loom::nn {

/// The oldest ONNX opset export_onnx writes and import_onnx reads.
inline constexpr int kOnnxMinOpset = 13;
/// The newest ONNX opset export_onnx writes and import_onnx reads.
inline constexpr int kOnnxMaxOpset = 17;

/// Writes a built Sequential or functional model (nested ones included) as an ONNX file of
/// `opset`, atomically. The graph takes and gives loom's layouts (NHWC images) with a dynamic
/// batch axis; convolutions and pooling run in ONNX's NCHW between transposes. Layers run in
/// inference form: Dropout disappears, BatchNormalization uses its moving statistics.
/// InvalidArgument for an opset outside [kOnnxMinOpset, kOnnxMaxOpset] or a model that is not
/// built; UnimplementedError naming the layer and its type for a layer ONNX export does not
/// know (the message lists those it does); IOError when the file cannot be written.
LOOM_API void export_onnx(const Model& model, const std::string& path, int opset = kOnnxMinOpset);

/// A functional model of an ONNX file's graph, with its weights: each graph input becomes an
/// Input() in the file's layout (an NCHW image stays NCHW; loom transposes around its NHWC
/// layers), each operator one or more layers. The model predicts as the file does and trains
/// with compile / fit. Every axis but the first (the batch axis) of an input must be known.
///
/// UnimplementedError naming the node, its operator and the supported operators for an
/// operator or attribute loom does not import, and for an opset outside [kOnnxMinOpset,
/// kOnnxMaxOpset]; IOError naming the file for one that is not ONNX, is truncated, or has a
/// graph that is not a DAG or reads values nothing makes; ShapeError for shapes that do not fit.
/// Nothing is returned unless the whole graph imports.
LOOM_API std::shared_ptr<Functional> import_onnx(const std::string& path);

/// The ONNX operators import_onnx reads, sorted.
LOOM_API std::vector<std::string> onnx_import_operators();

}  // namespace loom::nn
