// Model architectures and compile settings as JSON, and models rebuilt from them.
#include "nn/model_config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/config.hpp"
#include "loom/nn/functional.hpp"
#include "loom/tape.hpp"

namespace loom::nn::internal {
namespace {

using json = nlohmann::json;

constexpr int kMaxNesting = 32;  // models inside models: a config deeper than this is refused

// Attribute values keep their types: float lists and dtypes are tagged objects.
json attr_json(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> json {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, DType>) return json{{"dtype", dtype_name(v)}};
        else if constexpr (std::is_same_v<V, std::vector<double>>) return json{{"floats", v}};
        else return json(v);
      },
      value);
}

json attrs_json(const Attrs& attrs) {
  json out = json::object();
  for (const auto& [name, value] : attrs.items()) out[name] = attr_json(value);
  return out;
}

[[noreturn]] void bad_config(const std::string& path, const std::string& why) {
  throw IOError("[load_model] '" + path + "' holds no valid model config: " + why);
}

AttrValue attr_from_json(const json& v, const std::string& name, const std::string& path) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return v.get<int64_t>();
    case json::value_t::number_float: return v.get<double>();
    case json::value_t::boolean: return v.get<bool>();
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::array: {
      std::vector<int64_t> ints;
      for (const json& e : v) {
        if (!e.is_number_integer()) bad_config(path, "argument '" + name + "' is a list of something other than integers");
        ints.push_back(e.get<int64_t>());
      }
      return ints;
    }
    case json::value_t::object:
      if (v.contains("dtype") && v.at("dtype").is_string()) return dtype_from_name(v.at("dtype").get<std::string>(), name);
      if (v.contains("floats") && v.at("floats").is_array()) {
        std::vector<double> floats;
        for (const json& e : v.at("floats")) {
          if (!e.is_number()) bad_config(path, "argument '" + name + "' holds a non-number");
          floats.push_back(e.get<double>());
        }
        return floats;
      }
      break;
    default: break;
  }
  bad_config(path, "argument '" + name + "' has a value of an unknown kind");
}

Attrs attrs_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) bad_config(path, "a layer's config is not an object");
  Attrs out;
  for (const auto& [name, v] : j.items()) out.set(name, attr_from_json(v, name, path));
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

json layer_json(const Layer& layer, int depth);

json sequential_json(const Sequential& model, int depth) {
  json layers = json::array();
  for (const LayerPtr& l : model.layers()) layers.push_back(layer_json(*l, depth + 1));
  json out{{"class_name", "Sequential"}, {"config", attrs_json(model.get_config())}, {"layers", layers}};
  if (!model.declared_input_shape() && !model.layers().empty() && model.layers()[0]->built()) {
    out["build_input_shape"] = model.layers()[0]->input_shape().vec();
  }
  return out;
}

json functional_json(const Functional& model, int depth) {
  const std::vector<LayerPtr> layers = model.layers();
  json layer_configs = json::array(), nodes = json::array(), inputs = json::array(), outputs = json::array();
  for (const LayerPtr& l : layers) layer_configs.push_back(layer_json(*l, depth + 1));
  const auto& graph = model.nodes();
  // Tensors are identified by (node, output index); nodes by their place in execution order.
  std::map<const GraphNode*, size_t> place;
  for (size_t i = 0; i < graph.size(); ++i) place[graph[i].get()] = i;
  auto ref = [&](const SymbolicTensor& t) { return json::array({place.at(GraphNode::node_of(t).get()), GraphNode::index_of(t)}); };
  for (const auto& node : graph) {
    json ins = json::array();
    for (const SymbolicTensor& in : node->inputs) ins.push_back(ref(in));
    const size_t layer_index = static_cast<size_t>(std::find(layers.begin(), layers.end(), node->layer) - layers.begin());
    nodes.push_back({{"layer", layer_index}, {"inputs", ins}, {"list_call", node->list_call}});
  }
  for (const SymbolicTensor& x : model.inputs()) inputs.push_back(place.at(GraphNode::node_of(x).get()));
  for (const SymbolicTensor& y : model.outputs()) outputs.push_back(ref(y));
  return json{{"class_name", "Functional"},
              {"config", attrs_json(model.get_config())},
              {"layers", layer_configs},
              {"nodes", nodes},
              {"inputs", inputs},
              {"outputs", outputs}};
}

json layer_json_of_kind(const Layer& layer, int depth) {
  if (depth > kMaxNesting) throw InvalidArgument("[save_model] models are nested more than " + std::to_string(kMaxNesting) + " deep");
  if (const auto* f = dynamic_cast<const Functional*>(&layer)) return functional_json(*f, depth);
  if (const auto* s = dynamic_cast<const Sequential*>(&layer)) return sequential_json(*s, depth);
  const std::string type = layer.type_name();
  if (type.empty()) {
    throw InvalidArgument("[save_model] layer '" + layer.name() + "' has no type name: give its class type_name() and "
                          "get_config(), and register the type with register_layer_type()");
  }
  json out{{"class_name", type}, {"config", attrs_json(layer.get_config())}};
  if (layer.built() && !layer.input_shape().empty()) out["build_input_shape"] = layer.input_shape().vec();
  return out;
}

// Layers record their dtype policy when it is not float32 (absent: float32).
json layer_json(const Layer& layer, int depth) {
  json out = layer_json_of_kind(layer, depth);
  if (layer.dtype_policy().name() != "float32") out["dtype_policy"] = layer.dtype_policy().name();
  return out;
}

json compile_json(const Model& model) {
  if (!model.compiled()) return nullptr;
  json metrics = json::array();
  for (const MetricPtr& m : model.metrics()) metrics.push_back(m->name());
  return json{{"optimizer", {{"name", lower(model.optimizer()->name())}, {"config", attrs_json(model.optimizer()->get_config())}}},
              {"loss", {{"name", model.loss()->name()}, {"config", attrs_json(model.loss()->get_config())}}},
              {"metrics", metrics}};
}

const json& field(const json& j, const char* name, const std::string& path) {
  if (!j.is_object() || !j.contains(name)) bad_config(path, std::string("'") + name + "' is missing");
  return j.at(name);
}

// Builds the weights of a layer whose input shape is known (batch axis -1) with a forward pass
// on zeros of batch 1, as Keras' model.build(shape) does.
void build_with(Layer& layer, const json& shape, const std::string& path) {
  if (layer.built() && !dynamic_cast<Model*>(&layer)) return;
  Shape s;
  for (const json& d : shape) {
    if (!d.is_number_integer()) bad_config(path, "a build input shape holds a non-integer");
    const int64_t v = d.get<int64_t>();
    if (v < -1) bad_config(path, "a build input shape holds " + std::to_string(v));
    s.push_back(s.empty() && v < 0 ? 1 : v);
  }
  NoGradGuard no_grad;
  layer(zeros(s), false);
}

LayerPtr layer_from_json(const json& j, int depth, const std::string& path);

LayerPtr sequential_from_json(const json& j, int depth, const std::string& path) {
  const Attrs config = attrs_from_json(field(j, "config", path), path);
  const std::string name = config.get_string("name", "", "load_model");
  std::vector<LayerPtr> layers;
  for (const json& l : field(j, "layers", path)) layers.push_back(layer_from_json(l, depth + 1, path));
  std::shared_ptr<Sequential> model;
  if (config.has("input_shape")) {
    model = std::make_shared<Sequential>(std::move(layers), Shape(config.get_ints("input_shape", "load_model")), name);
  } else {
    model = std::make_shared<Sequential>(std::move(layers), name);
    if (j.contains("build_input_shape")) build_with(*model, j.at("build_input_shape"), path);
  }
  return model;
}

LayerPtr functional_from_json(const json& j, int depth, const std::string& path) {
  const Attrs config = attrs_from_json(field(j, "config", path), path);
  const json& layer_configs = field(j, "layers", path);
  std::vector<LayerPtr> layers;
  std::vector<const json*> input_configs(layer_configs.size(), nullptr);
  for (size_t i = 0; i < layer_configs.size(); ++i) {
    if (field(layer_configs[i], "class_name", path) == "InputLayer") input_configs[i] = &layer_configs[i];
    layers.push_back(input_configs[i] ? nullptr : layer_from_json(layer_configs[i], depth + 1, path));
  }
  std::vector<std::vector<SymbolicTensor>> values;
  auto tensor_at = [&](const json& ref) -> SymbolicTensor {
    if (!ref.is_array() || ref.size() != 2 || !ref[0].is_number_unsigned() || !ref[1].is_number_unsigned() ||
        ref[0].get<size_t>() >= values.size() || ref[1].get<size_t>() >= values[ref[0].get<size_t>()].size()) {
      bad_config(path, "a node reads a tensor that no earlier node makes");
    }
    return values[ref[0].get<size_t>()][ref[1].get<size_t>()];
  };
  for (const json& node : field(j, "nodes", path)) {
    const json& index = field(node, "layer", path);
    if (!index.is_number_unsigned() || index.get<size_t>() >= layers.size()) bad_config(path, "a node names no layer");
    const size_t li = index.get<size_t>();
    if (input_configs[li]) {
      const Attrs c = attrs_from_json(field(*input_configs[li], "config", path), path);
      values.push_back({Input(Shape(c.get_ints("shape", "load_model")), c.get_dtype("dtype", DType::Float32, "load_model"),
                              c.get_string("name", "", "load_model"))});
      continue;
    }
    std::vector<SymbolicTensor> args;
    for (const json& ref : field(node, "inputs", path)) args.push_back(tensor_at(ref));
    if (args.empty()) bad_config(path, "a layer node has no inputs");
    values.push_back(apply(layers[li], args, node.value("list_call", args.size() > 1)));
  }
  std::vector<SymbolicTensor> inputs, outputs;
  for (const json& i : field(j, "inputs", path)) {
    if (!i.is_number_unsigned() || i.get<size_t>() >= values.size()) bad_config(path, "an input names no node");
    inputs.push_back(values[i.get<size_t>()][0]);
  }
  for (const json& ref : field(j, "outputs", path)) outputs.push_back(tensor_at(ref));
  return std::make_shared<Functional>(inputs, outputs, config.get_string("name", "", "load_model"));
}

// The policy a layer was saved with; layers are made under it, whatever the global policy.
Policy policy_of(const json& j, const std::string& path) {
  if (!j.contains("dtype_policy")) return Policy("float32");
  if (!j.at("dtype_policy").is_string()) bad_config(path, "a dtype_policy is not a string");
  return Policy(j.at("dtype_policy").get<std::string>());
}

LayerPtr layer_from_json(const json& j, int depth, const std::string& path) {
  if (depth > kMaxNesting) bad_config(path, "models are nested more than " + std::to_string(kMaxNesting) + " deep");
  const json& type = field(j, "class_name", path);
  if (!type.is_string()) bad_config(path, "a class_name is not a string");
  const PolicyScope saved_policy(policy_of(j, path));
  if (type == "Sequential") return sequential_from_json(j, depth, path);
  if (type == "Functional") return functional_from_json(j, depth, path);
  LayerPtr layer = layer_from_config(type.get<std::string>(), attrs_from_json(field(j, "config", path), path));
  if (j.contains("build_input_shape") && !layer->built()) build_with(*layer, j.at("build_input_shape"), path);
  return layer;
}

}  // namespace

std::string model_config_json(const Model& model) {
  return json{{"format_version", kModelFormatVersion}, {"model", layer_json(model, 0)}, {"compile", compile_json(model)}}
      .dump();
}

ModelPtr model_from_config_json(const std::string& text, bool compile, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad_config(path, std::string("the config is not JSON (") + e.what() + ")");
  }
  const json& version = field(j, "format_version", path);
  if (!version.is_number_integer()) bad_config(path, "format_version is not an integer");
  if (version.get<int64_t>() > kModelFormatVersion) {
    throw IOError("[load_model] '" + path + "' was written by a newer loom (model format " +
                  std::to_string(version.get<int64_t>()) + "; this loom reads up to " + std::to_string(kModelFormatVersion) + ")");
  }
  try {
    auto model = std::dynamic_pointer_cast<Model>(layer_from_json(field(j, "model", path), 0, path));
    if (!model) bad_config(path, "the top-level layer is not a model");
    const json& settings = j.contains("compile") ? j.at("compile") : json();
    if (compile && settings.is_object()) {
      const json& opt = field(settings, "optimizer", path);
      const json& loss = field(settings, "loss", path);
      const std::string loss_name = field(loss, "name", path).get<std::string>();
      std::vector<MetricPtr> metrics;
      for (const json& m : field(settings, "metrics", path)) metrics.push_back(get_metric(m.get<std::string>(), loss_name));
      model->compile(optimizer_from_config(field(opt, "name", path).get<std::string>(), attrs_from_json(field(opt, "config", path), path)),
                     loss_from_config(loss_name, attrs_from_json(field(loss, "config", path), path)), std::move(metrics));
    }
    return model;
  } catch (const json::exception& e) {
    bad_config(path, std::string("a field has the wrong kind (") + e.what() + ")");
  }
}

}  // namespace loom::nn::internal
