// import_onnx: the file checked as a whole (opsets, names, a DAG), then its graph walked node by
// node into a loom functional model.
#include "interop/onnx_import.hpp"

#include <deque>

#include "interop/onnx_proto.hpp"
#include "loom/error.hpp"
#include "loom/interop.hpp"

namespace loom::interop {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

[[noreturn]] void bad_file(const std::string& path, const std::string& why) {
  throw IOError("[import_onnx] '" + path + "': " + why);
}

// Checks the opset of the default domain (loom reads opsets whose operators it implements alike);
// other domains may be declared but not used.
void check_opset(const onnx::ModelProto& model, const std::string& path) {
  std::optional<int64_t> opset;
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") opset = entry.version();
  }
  if (!opset) bad_file(path, "it declares no opset of the default ONNX domain");
  if (*opset < nn::kOnnxMinOpset || *opset > nn::kOnnxMaxOpset) {
    throw UnimplementedError("[import_onnx] '" + path + "': opset " + std::to_string(*opset) + " is not one loom reads (" +
                             std::to_string(nn::kOnnxMinOpset) + " to " + std::to_string(nn::kOnnxMaxOpset) +
                             "; re-export the model with one of them)");
  }
}

// A graph input as a loom Input(): every axis but the batch axis known.
ImportValue graph_input(const onnx::ValueInfoProto& info, ImportState& state) {
  const std::string where = "[import_onnx] '" + state.path + "': input '" + info.name() + "'";
  if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) {
    throw UnimplementedError(where + " is not a tensor of known rank");
  }
  const auto& tensor = info.type().tensor_type();
  const DType dtype = dtype_of_onnx(tensor.elem_type(), where);
  const auto& dims = tensor.shape().dim();
  if (dims.empty()) throw UnimplementedError(where + " is a scalar: loom's models take a batch axis first");
  Shape shape;
  for (int i = 1; i < dims.size(); ++i) {
    if (!dims[i].has_dim_value() || dims[i].dim_value() <= 0) {
      throw UnimplementedError(where + " has an unknown or empty axis " + std::to_string(i) +
                               ": loom needs every axis but the batch axis known");
    }
    shape.push_back(dims[i].dim_value());
  }
  if (dims[0].has_dim_value()) state.declared_batch = dims[0].dim_value();
  std::string name = info.name();
  std::replace(name.begin(), name.end(), '/', '_');
  state.layer_names.insert(name);
  return ImportValue::of(nn::Input(shape, dtype, name));
}

// The nodes in an order where each runs after the nodes that make its inputs. IOError for an
// input nothing makes, a value made twice, or a cycle.
std::vector<const onnx::NodeProto*> run_order(const onnx::GraphProto& graph, const std::set<std::string>& available_at_start,
                                              const std::string& path) {
  std::map<std::string, int> maker;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const std::string& out : graph.node(n).output()) {
      if (out.empty()) continue;
      if (available_at_start.count(out) || !maker.emplace(out, n).second) {
        bad_file(path, "value '" + out + "' is made twice (by node '" + graph.node(n).name() + "' and before)");
      }
    }
  }
  std::vector<std::vector<int>> readers(static_cast<size_t>(graph.node_size()));
  std::vector<int> waiting(static_cast<size_t>(graph.node_size()), 0);
  std::deque<int> ready;
  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto& node = graph.node(n);
    for (const std::string& in : node.input()) {
      if (in.empty() || available_at_start.count(in)) continue;
      const auto it = maker.find(in);
      if (it == maker.end()) {
        bad_file(path, "node '" + node.name() + "' (" + node.op_type() + ") reads '" + in +
                           "', which no node, input or initializer makes");
      }
      readers[static_cast<size_t>(it->second)].push_back(n);
      ++waiting[static_cast<size_t>(n)];
    }
    if (waiting[static_cast<size_t>(n)] == 0) ready.push_back(n);
  }
  std::vector<const onnx::NodeProto*> order;
  while (!ready.empty()) {
    const int n = ready.front();
    ready.pop_front();
    order.push_back(&graph.node(n));
    for (int reader : readers[static_cast<size_t>(n)]) {
      if (--waiting[static_cast<size_t>(reader)] == 0) ready.push_back(reader);
    }
  }
  if (order.size() != static_cast<size_t>(graph.node_size())) {
    for (int n = 0; n < graph.node_size(); ++n) {
      if (waiting[static_cast<size_t>(n)] > 0) {
        bad_file(path, "the graph has a cycle: node '" + graph.node(n).name() + "' (" + graph.node(n).op_type() +
                           ") depends on its own output");
      }
    }
  }
  return order;
}

std::vector<ImportValue> convert(const onnx::NodeProto& node, ImportState& state) {
  OnnxNode ctx(node, state);
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    ctx.unsupported("operators of domain '" + node.domain() + "' are not imported (loom imports the default domain)");
  }
  const auto& table = onnx_converters();
  const auto it = table.find(node.op_type());
  if (it == table.end()) {
    std::vector<std::string> known;
    for (const auto& [name, unused] : table) known.push_back(name);
    ctx.unsupported("loom does not import this operator (it imports: " + join(known) + ")");
  }
  for (const auto& a : node.attribute()) {
    if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS) {
      ctx.unsupported("subgraph attributes are not imported");
    }
  }
  return it->second(ctx);
}

std::string layer_free_name(const std::string& name, ImportState& state) {
  std::string out = name.empty() ? "onnx_model" : name;
  std::replace(out.begin(), out.end(), '/', '_');
  while (state.layer_names.count(out)) out += "_model";
  return out;
}

}  // namespace

const std::map<std::string, OnnxConverter>& onnx_converters() {
  static const std::map<std::string, OnnxConverter> table = [] {
    std::map<std::string, OnnxConverter> t;
    add_layer_converters(t);
    add_math_converters(t);
    add_shape_converters(t);
    return t;
  }();
  return table;
}

}  // namespace loom::interop

namespace loom::nn {

std::shared_ptr<Functional> import_onnx(const std::string& path) {
  using namespace interop;
  const onnx::ModelProto model = read_onnx_file(path, "import_onnx");
  if (!model.has_graph()) throw IOError("[import_onnx] '" + path + "': the file holds no graph");
  ImportState state;
  state.path = path;
  check_opset(model, path);
  const onnx::GraphProto& graph = model.graph();

  std::set<std::string> available;
  for (const auto& init : graph.initializer()) {
    if (!state.values.emplace(init.name(), ImportValue::of(from_tensor_proto(init, "[import_onnx] '" + path + "': initializer '" + init.name() + "'"))).second) {
      throw IOError("[import_onnx] '" + path + "': initializer '" + init.name() + "' appears twice");
    }
    available.insert(init.name());
  }
  for (const auto& init : graph.sparse_initializer()) {
    throw UnimplementedError("[import_onnx] '" + path + "': sparse initializer '" + init.values().name() + "' is not imported");
  }
  std::vector<SymbolicTensor> inputs;
  for (const auto& info : graph.input()) {
    if (available.count(info.name())) continue;  // an initializer listed as an input too (older files)
    const ImportValue in = graph_input(info, state);
    if (!state.values.emplace(info.name(), in).second) {
      throw IOError("[import_onnx] '" + path + "': input '" + info.name() + "' appears twice");
    }
    available.insert(info.name());
    inputs.push_back(in.symbolic);
  }
  if (inputs.empty()) throw UnimplementedError("[import_onnx] '" + path + "': the graph has no inputs besides its weights");

  for (const onnx::NodeProto* node : run_order(graph, available, path)) {
    const std::vector<ImportValue> results = convert(*node, state);
    for (size_t i = 0; i < results.size() && i < static_cast<size_t>(node->output_size()); ++i) {
      if (!node->output(static_cast<int>(i)).empty()) state.values[node->output(static_cast<int>(i))] = results[i];
    }
  }

  std::vector<SymbolicTensor> outputs;
  for (const auto& info : graph.output()) {
    const auto it = state.values.find(info.name());
    if (it == state.values.end()) throw IOError("[import_onnx] '" + path + "': output '" + info.name() + "' is made by no node");
    if (it->second.is_constant()) {
      throw UnimplementedError("[import_onnx] '" + path + "': output '" + info.name() + "' is a constant, not computed from the inputs");
    }
    onnx::NodeProto output_node;
    output_node.set_name(info.name());
    output_node.set_op_type("output");
    outputs.push_back(OnnxNode(output_node, state).relayout(info.name(), it->second, false));
  }
  if (outputs.empty()) throw IOError("[import_onnx] '" + path + "': the graph has no outputs");
  try {
    return std::make_shared<Functional>(inputs, outputs, layer_free_name(graph.name(), state));
  } catch (const Error& e) {
    throw_error(e.code(), "[import_onnx] '" + path + "': " + e.what());
  }
}

std::vector<std::string> onnx_import_operators() {
  std::vector<std::string> names;
  for (const auto& [name, unused] : interop::onnx_converters()) names.push_back(name);
  return names;
}

}  // namespace loom::nn
