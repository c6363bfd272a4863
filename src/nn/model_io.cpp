// Saving and loading weights and full training checkpoints (safetensors), and summary().
#include <charconv>
#include <iomanip>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/allocation_budget.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/io.hpp"
#include "loom/ops.hpp"
#include "loom/nn/functional.hpp"
#include "loom/nn/model.hpp"
#include "nn/data_parallel.hpp"
#include "nn/model_config.hpp"
#include "nn/weight_files.hpp"

namespace loom::nn {
namespace {

constexpr const char* kModelPrefix = "model/";
constexpr const char* kOptimizerPrefix = "optimizer/";
// What building a loaded model may hold beyond its weights: shape-inference probes of one
// example (a 512x512x64 float32 activation is 64 MiB).
constexpr size_t kBuildAllowance = size_t{256} << 20;

std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 10; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 10) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

// Assigns values keyed by weight path to the model's weights. Strict: every weight must be
// present with its shape and no extra key may appear; otherwise unexpected keys are ignored.
void assign_weights(const Model& model, const std::map<std::string, Tensor>& values, bool strict, const std::string& path,
                    const char* who) {
  const auto vars = model.weight_paths();
  if (vars.empty()) {
    throw InvalidArgument(std::string("[") + who + "] the model has no weights yet: build it first (call it on an "
                          "input, or give Sequential an input shape)");
  }
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> known;
  for (const auto& [key, v] : vars) {
    known.insert(key);
    auto it = values.find(key);
    if (it == values.end()) missing.push_back(key + " (" + v.name() + ")");
    else if (it->second.shape() != v.shape()) mismatched.push_back(key + " (" + v.name() + ") " + it->second.shape().str() + " vs " + v.shape().str());
  }
  for (const auto& [name, t] : values) {
    if (!known.count(name)) unexpected.push_back(name);
  }
  internal::check_weights_match(missing, unexpected, mismatched, strict, path, who);
  // Checked first, assigned after: a failed load leaves the weights as they were.
  for (const auto& [key, v] : vars) {
    auto it = values.find(key);
    if (it == values.end()) continue;
    Variable target = v;
    target.assign(it->second.dtype() == v.dtype() ? it->second : cast(it->second, v.dtype()));
  }
}

}  // namespace

namespace internal {

void check_weights_match(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                         const std::vector<std::string>& mismatched, bool strict, const std::string& path, const char* who) {
  if (mismatched.empty() && (!strict || (missing.empty() && unexpected.empty()))) return;
  std::string msg = std::string("[") + who + "] '" + path + "' does not match the model:";
  if (!missing.empty()) msg += " missing: " + list(missing) + ";";
  if (!unexpected.empty()) msg += " unexpected: " + list(unexpected) + ";";
  if (!mismatched.empty()) msg += " shape mismatch (file vs model): " + list(mismatched) + ";";
  throw InvalidArgument(msg);
}

}  // namespace internal

namespace {

// A number of a checkpoint's metadata; IOError naming the file for anything else.
uint64_t metadata_number(const std::string& text, const std::string& key, const std::string& path) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw IOError("[load_checkpoint] '" + path + "' has a malformed '" + key + "' entry: '" + text + "'");
  }
  return value;
}

std::map<std::string, Tensor> weight_map(const Model& model) {
  std::map<std::string, Tensor> out;
  for (const auto& [key, v] : model.weight_paths()) out[key] = v;
  return out;
}

// Each key's weight name, for people reading the file with other tools.
void describe(const Model& model, std::map<std::string, std::string>& metadata) {
  for (const auto& [key, v] : model.weight_paths()) metadata["name:" + key] = v.name();
}

}  // namespace

void Model::save_weights(const std::string& path) const {
  if (!internal::this_rank_writes()) return;  // data-parallel fit: rank 0 writes
  if (internal::is_keras_h5_path(path)) return internal::save_keras_weights(*this, path);
  NamedTensors out{weight_map(*this), {{"format", "loom-weights"}, {"version", "1"}}};
  describe(*this, out.metadata);
  save_safetensors(path, out);
}

void Model::load_weights(const std::string& path, bool strict) {
  if (internal::is_keras_h5_path(path)) return internal::load_keras_weights(*this, path, strict);
  assign_weights(*this, load_safetensors(path).tensors, strict, path, "load_weights");
}

namespace {

// Model::save's file; `weights_dtype`, if given, is the dtype its floating weights are cast to.
void save_model_file(const Model& model, const std::string& path, std::optional<DType> weights_dtype) {
  if (!internal::this_rank_writes()) return;  // data-parallel fit: rank 0 writes
  NamedTensors out{weight_map(model),
                   {{"format", "loom-model"},
                    {"format_version", std::to_string(internal::kModelFormatVersion)},
                    {"model_config", internal::model_config_json(model)}}};
  describe(model, out.metadata);
  if (weights_dtype) {
    for (auto& [key, t] : out.tensors) {
      if (is_floating(t.dtype())) t = cast(t, *weights_dtype);
    }
    out.metadata["weights_dtype"] = dtype_name(*weights_dtype);
  }
  save_safetensors(path, out);
}

}  // namespace

void Model::save(const std::string& path) const { save_model_file(*this, path, std::nullopt); }

void Model::save(const std::string& path, DType weights_dtype) const {
  if (!is_floating(weights_dtype)) {
    throw DTypeError("[Model::save] weights_dtype must be a floating dtype (float16, bfloat16, float32, float64), got " +
                     std::string(dtype_name(weights_dtype)));
  }
  save_model_file(*this, path, weights_dtype);
}

ModelPtr load_model(const std::string& path, bool compile) {
  const NamedTensors in = load_safetensors(path);
  const auto format = in.metadata.find("format");
  const auto config = in.metadata.find("model_config");
  if (format == in.metadata.end() || format->second != "loom-model" || config == in.metadata.end()) {
    throw IOError("[load_model] '" + path + "' is not a loom model file (Model::save writes them; weights alone load "
                  "with load_weights)");
  }
  // The file is untrusted: its config may declare layers of any size. Building may hold what the
  // file's weights back (twice: initial values and temporaries) plus a fixed allowance for the
  // batch-of-one probes that infer shapes; more is refused before it is allocated.
  size_t weight_bytes = 0;
  for (const auto& [name, t] : in.tensors) weight_bytes += t.nbytes();
  ModelPtr model;
  {
    detail::AllocationBudget budget(2 * weight_bytes + kBuildAllowance,
                                    "[load_model] '" + path + "' declares a model larger than its " +
                                        std::to_string(weight_bytes) + " bytes of weights");
    model = internal::model_from_config_json(config->second, compile, path);
  }
  if (!model->weights().empty() || !in.tensors.empty()) assign_weights(*model, in.tensors, true, path, "load_model");
  return model;
}

void Model::save_checkpoint(const std::string& path, int epoch) const {
  if (!internal::this_rank_writes()) return;  // data-parallel fit: rank 0 writes
  NamedTensors out;
  for (const auto& [name, t] : weight_map(*this)) out.tensors[kModelPrefix + name] = t;
  if (optimizer_) {
    // Slots are keyed "<variable name>/<slot>"; files use the weight's path instead.
    std::map<std::string, std::string> path_of;
    for (const auto& [key, v] : weight_paths()) path_of[v.name()] = key;
    for (const auto& [name, t] : optimizer_->state()) {
      const auto slash = name.rfind('/');
      auto it = slash == std::string::npos ? path_of.end() : path_of.find(name.substr(0, slash));
      out.tensors[kOptimizerPrefix + (it == path_of.end() ? name : it->second + name.substr(slash))] = t;
    }
  }
  const auto [seed, counter] = random_state();
  out.metadata = {{"format", "loom-checkpoint"}, {"version", "1"}, {"epoch", std::to_string(epoch)},
                  {"rng_seed", std::to_string(seed)}, {"rng_counter", std::to_string(counter)},
                  {"fit_seed", std::to_string(fit_seed_)}};
  describe(*this, out.metadata);
  const auto layers = const_cast<Model*>(this)->all_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const auto& [k, v] : layers[i]->extra_state()) out.metadata["layer/" + std::to_string(i) + "/" + k] = v;
  }
  save_safetensors(path, out);
}

int Model::load_checkpoint(const std::string& path) {
  const NamedTensors in = load_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = in.metadata.find(key);
    if (it == in.metadata.end()) throw IOError("[load_checkpoint] '" + path + "' has no '" + key + "' entry: not a loom checkpoint");
    return it->second;
  };
  if (meta("format") != "loom-checkpoint") throw IOError("[load_checkpoint] '" + path + "' is not a loom checkpoint");
  std::map<std::string, Tensor> weights, slots;
  for (const auto& [name, t] : in.tensors) {
    if (name.rfind(kModelPrefix, 0) == 0) weights[name.substr(6)] = t;
    else if (name.rfind(kOptimizerPrefix, 0) == 0) slots[name.substr(10)] = t;
  }
  assign_weights(*this, weights, true, path, "load_checkpoint");
  if (optimizer_ && !slots.empty()) {
    std::map<std::string, std::string> name_of;
    for (const auto& [key, v] : weight_paths()) name_of[key] = v.name();
    std::map<std::string, Tensor> by_name;
    for (const auto& [key, t] : slots) {
      const auto slash = key.rfind('/');
      auto it = slash == std::string::npos ? name_of.end() : name_of.find(key.substr(0, slash));
      by_name[it == name_of.end() ? key : it->second + key.substr(slash)] = t;
    }
    optimizer_->set_state(by_name, trainable_weights());
  }
  set_random_state({metadata_number(meta("rng_seed"), "rng_seed", path), metadata_number(meta("rng_counter"), "rng_counter", path)});
  if (const auto fit_seed = in.metadata.find("fit_seed"); fit_seed != in.metadata.end()) {
    resumed_fit_seed_ = metadata_number(fit_seed->second, "fit_seed", path);
  }
  const auto layers = all_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    Layer* l = layers[i];
    std::map<std::string, std::string> state;
    const std::string prefix = "layer/" + std::to_string(i) + "/";
    for (const auto& [k, v] : in.metadata) {
      if (k.rfind(prefix, 0) == 0) state[k.substr(prefix.size())] = v;
    }
    if (!state.empty()) l->set_extra_state(state);
  }
  const uint64_t epoch = metadata_number(meta("epoch"), "epoch", path);
  if (epoch > 1000000000) throw IOError("[load_checkpoint] '" + path + "' has an implausible epoch " + std::to_string(epoch));
  return static_cast<int>(epoch) + 1;
}

namespace {

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + (i == 0 && s[i] < 0 ? std::string("None") : std::to_string(s[i]));
  return out + (s.size() == 1 ? ",)" : ")");
}

// Each layer's output shape and the layers it is called on, from the graph of a functional
// model or the chain of a Sequential one.
struct SummaryRow {
  std::string shape = "(not built)";
  std::string inbound;
};

std::map<const Layer*, SummaryRow> summary_rows(Model& model) {
  std::map<const Layer*, SummaryRow> rows;
  if (auto* f = dynamic_cast<Functional*>(&model)) {
    for (const auto& node : f->nodes()) {
      SummaryRow& row = rows[node->layer.get()];
      std::string shapes, inbound;
      for (const Shape& s : node->shapes) shapes += (shapes.empty() ? "" : ", ") + shape_text(s);
      for (const SymbolicTensor& in : node->inputs) inbound += (inbound.empty() ? "" : ", ") + in.name();
      if (row.inbound.empty() && row.shape == "(not built)") {
        row.shape = shapes;
        row.inbound = inbound;
      } else {
        row.inbound += (row.inbound.empty() ? "" : "; ") + inbound;  // a shared layer, called again
      }
    }
    return rows;
  }
  std::optional<Shape> shape;
  if (auto* seq = dynamic_cast<Sequential*>(&model)) {
    if (const auto declared = seq->declared_input_shape()) {
      shape = Shape{-1};
      for (int64_t d : *declared) shape->push_back(d);
    }
  }
  for (const LayerPtr& l : model.layers()) {
    if (!shape && l->built() && !l->input_shape().empty()) shape = l->input_shape();
    if (shape && l->built()) {
      try {
        shape = l->compute_output_shape(*shape);
        rows[l.get()].shape = shape_text(*shape);
      } catch (const Error&) {
        shape.reset();
      }
    }
  }
  return rows;
}

}  // namespace

std::string Model::summary() {
  const auto rows = summary_rows(*this);
  const bool graph = dynamic_cast<Functional*>(this) != nullptr;
  std::ostringstream out;
  out << "Model: \"" << name() << "\"\n";
  out << std::left << std::setw(40) << "Layer (type)" << std::setw(24) << "Output Shape" << std::setw(12) << "Param #"
      << (graph ? "Connected to" : "") << "\n";
  int64_t total = 0, trainable = 0;
  for (const LayerPtr& l : layers()) {
    int64_t params = 0;
    for (const Variable& v : l->weights()) params += v.numel();
    total += params;
    for (const Variable& v : l->trainable_weights()) trainable += v.numel();
    const std::string type = l->type_name().empty() ? "Layer" : l->type_name();
    const auto it = rows.find(l.get());
    const SummaryRow row = it == rows.end() ? SummaryRow{} : it->second;
    out << std::setw(40) << (l->name() + " (" + type + ")") << std::setw(24) << row.shape << std::setw(12) << params
        << (graph ? row.inbound : "") << "\n";
  }
  out << "Total params: " << total << "\nTrainable params: " << trainable
      << "\nNon-trainable params: " << total - trainable << "\n";
  return out.str();
}

}  // namespace loom::nn
