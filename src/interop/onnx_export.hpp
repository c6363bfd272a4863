#pragma once
// ONNX export: the graph being written and what each layer type writes into it.
//
// loom's images are NHWC and ONNX's convolutions and pooling take NCHW. Every loom tensor of the
// model is one ONNX value, held either in loom's layout or transposed to NCHW; layers that need
// NCHW (convolution, pooling, batch normalization of images) ask for it, layers that depend on
// the memory order (Flatten, Reshape, Dense, the graph's outputs) ask for loom's layout, and
// elementwise layers keep whatever they get. Each transpose is written once per value.
#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loom/nn/layer.hpp"

namespace loom::interop {

// A loom tensor in the graph: its ONNX value, its loom shape (batch axis -1), and whether the
// value holds it transposed to NCHW (rank 4 only).
struct ExportValue {
  std::string name;
  Shape shape;
  bool nchw = false;
};

class OnnxGraphWriter {
 public:
  explicit OnnxGraphWriter(onnx::GraphProto& graph) : graph_(graph) {}

  // A value name not used yet, from `hint`.
  std::string unique(const std::string& hint);
  // Adds a node of `op` on `inputs` (an empty name: an omitted optional input) with `outputs`
  // fresh output names; returns it to set attributes.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                        int outputs = 1);
  // Shorthand: the node's only output.
  std::string op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint);
  // An initializer holding `value`; returns its name.
  std::string constant(const std::string& hint, const Tensor& value);

  static void set(onnx::NodeProto& node, const std::string& name, int64_t value);
  static void set(onnx::NodeProto& node, const std::string& name, double value);
  static void set(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);

  // The value in loom's layout / in NCHW (rank 4; others are returned as they are).
  ExportValue in_loom_layout(const ExportValue& v);
  ExportValue in_nchw(const ExportValue& v);

 private:
  ExportValue transposed(const ExportValue& v, bool to_nchw);
  onnx::GraphProto& graph_;
  std::set<std::string> names_;
  std::map<std::pair<std::string, bool>, std::string> transposes_;
};

// Writes what layer `layer` computes on `inputs` into the graph and returns its outputs;
// `output_shapes` are loom's shapes of the outputs. Nested models are written layer by layer.
// UnimplementedError for a layer type without an ONNX form.
std::vector<ExportValue> export_layer(OnnxGraphWriter& graph, const nn::Layer& layer, const std::vector<ExportValue>& inputs,
                                      const std::vector<Shape>& output_shapes);

// Writes a Sequential or functional model on `inputs` (one per model input) and returns its
// outputs.
std::vector<ExportValue> export_model(OnnxGraphWriter& graph, const nn::Layer& model, const std::vector<ExportValue>& inputs);

}  // namespace loom::interop
