// export_onnx: the graph writer, models walked layer by layer, and the file.
#include "interop/onnx_export.hpp"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "interop/onnx_proto.hpp"
#include "loom/error.hpp"
#include "loom/interop.hpp"
#include "loom/version.hpp"

namespace loom::interop {

std::string OnnxGraphWriter::unique(const std::string& hint) {
  std::string name = hint.empty() ? "value" : hint;
  for (int i = 1; names_.count(name); ++i) name = hint + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

onnx::NodeProto& OnnxGraphWriter::node(const std::string& op, const std::vector<std::string>& inputs,
                                       const std::string& hint, int outputs) {
  onnx::NodeProto& n = *graph_.add_node();
  n.set_op_type(op);
  n.set_name(unique(hint + "/" + op));
  for (const std::string& input : inputs) n.add_input(input);
  const std::string output = hint + "/" + op;
  for (int i = 0; i < outputs; ++i) n.add_output(unique(outputs > 1 ? output + ":" + std::to_string(i) : output));
  return n;
}

std::string OnnxGraphWriter::op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint) {
  return node(op, inputs, hint).output(0);
}

std::string OnnxGraphWriter::constant(const std::string& hint, const Tensor& value) {
  const std::string name = unique(hint);
  to_tensor_proto(value, name, *graph_.add_initializer());
  return name;
}

void OnnxGraphWriter::set(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
}

void OnnxGraphWriter::set(onnx::NodeProto& node, const std::string& name, double value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(static_cast<float>(value));
}

void OnnxGraphWriter::set(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
}

ExportValue OnnxGraphWriter::in_loom_layout(const ExportValue& v) { return v.nchw ? transposed(v, false) : v; }

ExportValue OnnxGraphWriter::in_nchw(const ExportValue& v) { return v.nchw || v.shape.rank() != 4 ? v : transposed(v, true); }

ExportValue OnnxGraphWriter::transposed(const ExportValue& v, bool to_nchw) {
  auto [it, fresh] = transposes_.try_emplace({v.name, to_nchw});
  if (fresh) {
    onnx::NodeProto& t = node("Transpose", {v.name}, v.name + (to_nchw ? "/to_nchw" : "/to_nhwc"));
    set(t, "perm", to_nchw ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{0, 2, 3, 1});
    it->second = t.output(0);
  }
  return ExportValue{it->second, v.shape, to_nchw};
}

std::vector<ExportValue> export_model(OnnxGraphWriter& graph, const nn::Layer& model, const std::vector<ExportValue>& inputs) {
  if (const auto* sequential = dynamic_cast<const nn::Sequential*>(&model)) {
    ExportValue value = inputs.at(0);
    for (const nn::LayerPtr& layer : sequential->layers()) {
      const Shape out = layer->compute_output_shape(value.shape);
      value = export_layer(graph, *layer, {value}, {out}).at(0);
    }
    return {value};
  }
  const auto* functional = dynamic_cast<const nn::Functional*>(&model);
  if (!functional) {
    throw UnimplementedError("[export_onnx] model '" + model.name() + "' is a subclassed model: ONNX export takes "
                             "Sequential and functional models, whose graphs are known");
  }
  std::map<const nn::GraphNode*, std::vector<ExportValue>> outputs;
  size_t next_input = 0;
  for (const auto& node : functional->nodes()) {
    if (dynamic_cast<const nn::InputLayer*>(node->layer.get())) {
      outputs[node.get()] = {inputs.at(next_input++)};
      continue;
    }
    std::vector<ExportValue> args;
    for (const nn::SymbolicTensor& t : node->inputs) {
      args.push_back(outputs.at(nn::GraphNode::node_of(t).get()).at(static_cast<size_t>(nn::GraphNode::index_of(t))));
    }
    outputs[node.get()] = export_layer(graph, *node->layer, args, node->shapes);
  }
  std::vector<ExportValue> out;
  for (const nn::SymbolicTensor& t : functional->outputs()) {
    out.push_back(outputs.at(nn::GraphNode::node_of(t).get()).at(static_cast<size_t>(nn::GraphNode::index_of(t))));
  }
  return out;
}

namespace {

void describe(onnx::ValueInfoProto& info, const std::string& name, const Shape& shape, DType dtype) {
  info.set_name(name);
  auto& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx_type_of(dtype));
  auto& dims = *tensor.mutable_shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == 0) dims.add_dim()->set_dim_param("batch");
    else dims.add_dim()->set_dim_value(shape[i]);
  }
}

// The model's inputs: (name, shape with the batch axis, dtype).
std::vector<std::tuple<std::string, Shape, DType>> model_inputs(const nn::Model& model) {
  std::vector<std::tuple<std::string, Shape, DType>> out;
  if (const auto* functional = dynamic_cast<const nn::Functional*>(&model)) {
    for (const nn::SymbolicTensor& in : functional->inputs()) out.emplace_back(in.layer()->name(), in.shape(), in.dtype());
    return out;
  }
  if (!model.built() || model.input_shape().empty()) {
    throw InvalidArgument("[export_onnx] model '" + model.name() + "' is not built: call it on an input, or give "
                          "Sequential an input shape, before exporting it");
  }
  out.emplace_back(model.name() + "_input", model.input_shape(), DType::Float32);
  return out;
}

// What Python's onnx.checker.check_model(model, full_check=True) checks: the model, then shape
// inference with type checks and errors raised. A failure here is a bug of the exporter.
void check(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw InternalError(std::string("[export_onnx] the ONNX checker rejects the graph loom wrote: ") + e.what());
  }
}

}  // namespace

}  // namespace loom::interop

namespace loom::nn {

void export_onnx(const Model& model, const std::string& path, int opset) {
  if (opset < kOnnxMinOpset || opset > kOnnxMaxOpset) {
    throw InvalidArgument("[export_onnx] opset " + std::to_string(opset) + " is not one loom writes (" +
                          std::to_string(kOnnxMinOpset) + " to " + std::to_string(kOnnxMaxOpset) + ")");
  }
  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("loom");
  proto.set_producer_version(version_string());
  auto& domain = *proto.add_opset_import();
  domain.set_domain("");
  domain.set_version(opset);
  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name(model.name());
  interop::OnnxGraphWriter writer(graph);

  std::vector<interop::ExportValue> inputs;
  for (const auto& [name, shape, dtype] : interop::model_inputs(model)) {
    interop::describe(*graph.add_input(), writer.unique(name), shape, dtype);
    inputs.push_back({graph.input(graph.input_size() - 1).name(), shape, false});
  }
  const std::vector<interop::ExportValue> outputs = interop::export_model(writer, model, inputs);
  const std::vector<std::string> names = model.output_names();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const interop::ExportValue out = writer.in_loom_layout(outputs[i]);
    const std::string name = writer.unique(i < names.size() ? names[i] : "output");
    writer.node("Identity", {out.name}, name).set_output(0, name);
    interop::describe(*graph.add_output(), name, out.shape, DType::Float32);
  }
  interop::check(proto);
  interop::write_onnx_file(proto, path, "export_onnx");
}

}  // namespace loom::nn
