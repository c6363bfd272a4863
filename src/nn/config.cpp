// Layers, optimizers and losses from a type name and Keras-named arguments.
#include "loom/nn/config.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/initializers.hpp"
#include "loom/nn/distributed.hpp"
#include "loom/nn/layers.hpp"
#include "loom/nn/regularizers.hpp"

namespace loom::nn {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Typed reads of one type's arguments; unknown names fail up front.
class ConfigReader {
 public:
  ConfigReader(const Attrs& config, std::string context, const std::vector<std::string>& allowed)
      : config_(config), context_(std::move(context)) {
    for (const auto& item : config.items()) {
      const std::string& name = item.first;  // a plain reference: clang 14 cannot capture bindings
      // An allowed name ending in '*' admits every name with that prefix ("attr:*").
      const auto admits = [&name](const std::string& a) {
        return a == name || (!a.empty() && a.back() == '*' && name.rfind(a.substr(0, a.size() - 1), 0) == 0);
      };
      if (std::none_of(allowed.begin(), allowed.end(), admits)) {
        throw InvalidArgument("[" + context_ + "] unknown argument '" + name + "' (takes: " +
                              (allowed.empty() ? std::string("none") : join(allowed)) + ")");
      }
    }
  }
  const char* ctx() const { return context_.c_str(); }
  bool has(const char* name) const { return config_.has(name); }
  int64_t integer(const char* name, int64_t fallback) const { return config_.get_int(name, fallback, ctx()); }
  int64_t required_integer(const char* name) const { return config_.get_int(name, ctx()); }
  std::vector<int64_t> required_ints(const char* name) const { return config_.get_ints(name, ctx()); }
  std::vector<double> floats(const char* name) const { return config_.get_floats(name, ctx()); }
  double real(const char* name, double fallback) const { return config_.get_float(name, fallback, ctx()); }
  bool flag(const char* name, bool fallback) const { return config_.get_bool(name, fallback, ctx()); }
  std::string text(const char* name, const std::string& fallback) const {
    return config_.get_string(name, fallback, ctx());
  }
  // An int or an int list of `n` values ("kernel_size": 3 means 3x3, as Keras).
  std::vector<int64_t> window(const char* name, std::vector<int64_t> fallback, size_t n = 2) const {
    const AttrValue* v = config_.find(name);
    if (!v) return fallback;
    if (const auto* i = std::get_if<int64_t>(v)) return std::vector<int64_t>(n, *i);
    std::vector<int64_t> values = config_.get_ints(name, ctx());
    if (values.size() != n) {
      throw InvalidArgument("[" + context_ + "] '" + name + "' needs 1 or " + std::to_string(n) +
                            " values, got " + std::to_string(values.size()));
    }
    return values;
  }
  // "same", "valid", or explicit pixels {top, bottom, left, right}.
  Padding padding() const {
    const AttrValue* v = config_.find("padding");
    if (!v) return Padding("valid");
    if (std::holds_alternative<std::string>(*v)) return Padding(std::get<std::string>(*v));
    const std::vector<int64_t> pads = config_.get_ints("padding", ctx());
    if (pads.size() != 4) {
      throw InvalidArgument("[" + context_ + "] 'padding' is \"same\", \"valid\" or 4 values {top, bottom, left, "
                            "right}, got " + std::to_string(pads.size()) + " values");
    }
    return Padding(pads[0], pads[1], pads[2], pads[3]);
  }
  // The values of every argument whose name starts with `prefix`, keyed by the rest of the name.
  Attrs with_prefix(const std::string& prefix) const {
    Attrs out;
    for (const auto& [name, value] : config_.items()) {
      if (name.rfind(prefix, 0) == 0) out.set(name.substr(prefix.size()), value);
    }
    return out;
  }
  std::optional<uint64_t> seed() const {
    if (!has("seed")) return std::nullopt;
    return static_cast<uint64_t>(integer("seed", 0));
  }
  InitializerPtr initializer(const char* name, InitializerPtr fallback) const {
    return has(name) ? get_initializer(text(name, "")) : fallback;
  }
  // "l1" / "l2": a penalty on the layer's kernel.
  RegularizerPtr kernel_regularizer() const {
    const double l1 = real("l1", 0.0), l2 = real("l2", 0.0);
    if (l1 == 0.0 && l2 == 0.0) return nullptr;
    return L1L2(l1, l2);
  }

 private:
  const Attrs& config_;
  std::string context_;
};

// The arguments Dense and Conv2D share.
template <class Options>
Options with_common_arguments(const ConfigReader& r, Options o) {
  o.activation = r.text("activation", o.activation);
  o.use_bias = r.flag("use_bias", o.use_bias);
  o.kernel_initializer = r.initializer("kernel_initializer", o.kernel_initializer);
  o.bias_initializer = r.initializer("bias_initializer", o.bias_initializer);
  o.kernel_regularizer = r.kernel_regularizer();
  o.name = r.text("name", "");
  return o;
}

// The arguments of BatchNormalization and SyncBatchNormalization.
BatchNormalizationOptions batch_norm_options(const ConfigReader& r) {
  BatchNormalizationOptions o;
  o.momentum = r.real("momentum", o.momentum);
  o.epsilon = r.real("epsilon", o.epsilon);
  o.center = r.flag("center", o.center);
  o.scale = r.flag("scale", o.scale);
  o.name = r.text("name", "");
  return o;
}

// An OpLayer's constants are zeros of the shapes and dtypes its config lists (a model file's
// weights fill them in).
LayerPtr op_layer_from_config(const ConfigReader& r) {
  const std::vector<int64_t> shapes = r.has("constant_shapes") ? r.required_ints("constant_shapes") : std::vector<int64_t>{};
  const std::vector<int64_t> dtypes = r.has("constant_dtypes") ? r.required_ints("constant_dtypes") : std::vector<int64_t>{};
  std::vector<Tensor> constants;
  for (size_t at = 0; at < shapes.size();) {
    const int64_t rank = shapes[at++];
    if (rank < 0 || static_cast<size_t>(rank) > shapes.size() - at || constants.size() >= dtypes.size() ||
        !dtype_is_valid(static_cast<int32_t>(dtypes[constants.size()]))) {
      throw InvalidArgument(std::string("[") + r.ctx() + "] 'constant_shapes' and 'constant_dtypes' do not describe " +
                            "the constants (each shape is its rank, then its dims; one valid dtype per shape)");
    }
    const Shape shape(shapes.data() + at, static_cast<size_t>(rank));
    at += static_cast<size_t>(rank);
    constants.push_back(zeros(shape, static_cast<DType>(dtypes[constants.size()])));
  }
  if (constants.size() != dtypes.size()) {
    throw InvalidArgument(std::string("[") + r.ctx() + "] lists " + std::to_string(dtypes.size()) + " constant dtypes for " +
                          std::to_string(constants.size()) + " shapes");
  }
  return std::make_shared<OpLayer>(r.text("op", ""), r.with_prefix("attr:"), r.required_ints("operands"),
                                   std::move(constants), r.text("name", ""));
}

using LayerMaker = std::function<LayerPtr(const ConfigReader&)>;
struct LayerType {
  std::vector<std::string> arguments;
  LayerMaker make;
};

const std::map<std::string, LayerType>& layer_types() {
  static const std::map<std::string, LayerType> types = {
      {"Dense",
       {{"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "l1", "l2", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<Dense>(r.required_integer("units"), with_common_arguments(r, DenseOptions{}));
        }}},
      {"Conv2D",
       {{"filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "activation", "use_bias",
         "kernel_initializer", "bias_initializer", "l1", "l2", "name"},
        [](const ConfigReader& r) {
          Conv2DLayerOptions o = with_common_arguments(r, Conv2DLayerOptions{});
          o.strides = r.window("strides", o.strides);
          o.padding = r.padding();
          o.dilation_rate = r.window("dilation_rate", o.dilation_rate);
          o.groups = r.integer("groups", o.groups);
          const std::vector<int64_t> kernel =
              r.has("kernel_size") ? r.window("kernel_size", {}) : r.required_ints("kernel_size");
          return std::make_shared<Conv2D>(r.required_integer("filters"), kernel, o);
        }}},
      {"MaxPool2D",
       {{"pool_size", "strides", "padding", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<MaxPool2D>(r.window("pool_size", {2, 2}), r.window("strides", {}),
                                             r.padding(), r.text("name", ""));
        }}},
      {"AvgPool2D",
       {{"pool_size", "strides", "padding", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<AvgPool2D>(r.window("pool_size", {2, 2}), r.window("strides", {}),
                                             r.padding(), r.text("name", ""));
        }}},
      {"GlobalAvgPool2D",
       {{"name"}, [](const ConfigReader& r) { return std::make_shared<GlobalAvgPool2D>(r.text("name", "")); }}},
      {"Flatten", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Flatten>(r.text("name", "")); }}},
      {"Reshape",
       {{"target_shape", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<Reshape>(Shape(r.required_ints("target_shape")), r.text("name", ""));
        }}},
      {"Permute",
       {{"dims", "name"},
        [](const ConfigReader& r) { return std::make_shared<Permute>(r.required_ints("dims"), r.text("name", "")); }}},
      {"OpLayer", {{"op", "operands", "constant_shapes", "constant_dtypes", "attr:*", "name"}, op_layer_from_config}},
      {"Dropout",
       {{"rate", "seed", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<Dropout>(r.real("rate", 0.5), r.seed(), r.text("name", ""));
        }}},
      {"Activation",
       {{"activation", "name"},
        [](const ConfigReader& r) {
          return std::make_shared<Activation>(r.text("activation", "linear"), r.text("name", ""));
        }}},
      {"BatchNormalization",
       {{"momentum", "epsilon", "center", "scale", "name"},
        [](const ConfigReader& r) { return std::make_shared<BatchNormalization>(batch_norm_options(r)); }}},
      {"SyncBatchNormalization",
       {{"momentum", "epsilon", "center", "scale", "name"},
        [](const ConfigReader& r) { return std::make_shared<SyncBatchNormalization>(batch_norm_options(r)); }}},
      {"Concatenate",
       {{"axis", "name"},
        [](const ConfigReader& r) { return std::make_shared<Concatenate>(r.integer("axis", -1), r.text("name", "")); }}},
      {"Add", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Add>(r.text("name", "")); }}},
      {"Subtract", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Subtract>(r.text("name", "")); }}},
      {"Multiply", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Multiply>(r.text("name", "")); }}},
      {"Average", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Average>(r.text("name", "")); }}},
      {"Maximum", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Maximum>(r.text("name", "")); }}},
      {"Minimum", {{"name"}, [](const ConfigReader& r) { return std::make_shared<Minimum>(r.text("name", "")); }}},
  };
  return types;
}

// The learning-rate schedule an optimizer config names ("schedule"), or none.
SchedulePtr schedule_from_config(const ConfigReader& r) {
  if (!r.has("schedule")) return nullptr;
  const std::string kind = r.text("schedule", "");
  if (kind == "exponential_decay") {
    return ExponentialDecay(r.real("learning_rate", 0.01), r.required_integer("decay_steps"), r.real("decay_rate", 0.96),
                            r.flag("staircase", false));
  }
  if (kind == "cosine_decay") return CosineDecay(r.real("learning_rate", 0.01), r.required_integer("decay_steps"), r.real("alpha", 0.0));
  if (kind == "step_decay") return StepDecay(r.required_ints("boundaries"), r.floats("values"));
  throw InvalidArgument(std::string("[") + r.ctx() + "] unknown schedule '" + kind +
                        "' (exponential_decay, cosine_decay, step_decay)");
}

}  // namespace

namespace {
struct CustomTypes {
  std::mutex mutex;
  std::map<std::string, LayerFactory> factories;
};
// Never destroyed: a factory may hold a host language's objects, whose runtime may be gone at exit.
CustomTypes& custom_types() {
  static CustomTypes* types = new CustomTypes();
  return *types;
}
}  // namespace

LayerPtr layer_from_config(const std::string& type, const Attrs& config_in) {
  // Every type takes "dtype": its dtype policy ("mixed_bfloat16", ...), as Keras layers do.
  const AttrValue* policy_name = config_in.find("dtype");
  if (policy_name && std::holds_alternative<std::string>(*policy_name)) {
    Attrs config;
    for (const auto& [key, value] : config_in.items()) {
      if (key != "dtype") config.set(key, value);
    }
    const PolicyScope scope(Policy(std::get<std::string>(*policy_name)));
    return layer_from_config(type, config);
  }
  const Attrs& config = config_in;
  const auto& types = layer_types();
  const auto it = types.find(type);
  if (it != types.end()) return it->second.make(ConfigReader(config, "layer_from_config(" + type + ")", it->second.arguments));
  LayerFactory factory;
  {
    std::lock_guard<std::mutex> lock(custom_types().mutex);
    const auto custom = custom_types().factories.find(type);
    if (custom != custom_types().factories.end()) factory = custom->second;
  }
  if (!factory) {
    std::vector<std::string> names;
    for (const auto& [name, unused] : types) names.push_back(name);
    throw NotFoundError("[layer_from_config] unknown layer type '" + type + "' (built-in: " + join(names) +
                        "; custom types must be registered with register_layer_type)");
  }
  LayerPtr layer = factory(config);
  if (!layer) throw InvalidArgument("[layer_from_config] the factory of '" + type + "' returned no layer");
  return layer;
}

void register_layer_type(const std::string& type_name, LayerFactory factory) {
  if (type_name.empty()) throw InvalidArgument("[register_layer_type] the type name is empty");
  if (!factory) throw InvalidArgument("[register_layer_type] the factory of '" + type_name + "' is empty");
  if (layer_types().count(type_name) || type_name == "Sequential" || type_name == "Functional" || type_name == "InputLayer") {
    throw InvalidArgument("[register_layer_type] '" + type_name + "' is a built-in layer type");
  }
  std::lock_guard<std::mutex> lock(custom_types().mutex);
  custom_types().factories[type_name] = std::move(factory);
}

std::vector<std::string> registered_layer_types() {
  std::lock_guard<std::mutex> lock(custom_types().mutex);
  std::vector<std::string> names;
  for (const auto& [name, unused] : custom_types().factories) names.push_back(name);
  return names;
}

OptimizerPtr optimizer_from_config(const std::string& name, const Attrs& config) {
  const std::string ctx = "optimizer_from_config(" + name + ")";
  const std::vector<std::string> common = {"learning_rate", "clipnorm",   "clipvalue",  "global_clipnorm",
                                           "schedule",      "decay_steps", "decay_rate", "staircase",
                                           "alpha",         "boundaries",  "values",     "loss_scale",
                                           "dynamic_loss_scale", "dynamic_growth_steps"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  auto options = [](const ConfigReader& r, double lr) {
    OptimizerOptions o;
    o.learning_rate = r.real("learning_rate", lr);
    o.clipnorm = r.real("clipnorm", 0.0);
    o.clipvalue = r.real("clipvalue", 0.0);
    o.global_clipnorm = r.real("global_clipnorm", 0.0);
    o.schedule = schedule_from_config(r);
    o.loss_scale = r.real("loss_scale", 0.0);
    o.dynamic_loss_scale = r.flag("dynamic_loss_scale", true);
    o.dynamic_growth_steps = r.integer("dynamic_growth_steps", 2000);
    return o;
  };
  if (name == "sgd") {
    const ConfigReader r(config, ctx, with({"momentum", "nesterov"}));
    const OptimizerOptions o = options(r, 0.01);
    return SGD(o.learning_rate, r.real("momentum", 0.0), r.flag("nesterov", false), o);
  }
  if (name == "adam" || name == "adamw") {
    const bool w = name == "adamw";
    const ConfigReader r(config, ctx, with(w ? std::vector<std::string>{"weight_decay", "beta_1", "beta_2", "epsilon"}
                                             : std::vector<std::string>{"beta_1", "beta_2", "epsilon"}));
    const OptimizerOptions o = options(r, 0.001);
    const double b1 = r.real("beta_1", 0.9), b2 = r.real("beta_2", 0.999), eps = r.real("epsilon", 1e-7);
    return w ? AdamW(o.learning_rate, r.real("weight_decay", 0.004), b1, b2, eps, o)
             : Adam(o.learning_rate, b1, b2, eps, o);
  }
  if (name == "rmsprop") {
    const ConfigReader r(config, ctx, with({"rho", "momentum", "epsilon", "centered"}));
    const OptimizerOptions o = options(r, 0.001);
    return RMSprop(o.learning_rate, r.real("rho", 0.9), r.real("momentum", 0.0), r.real("epsilon", 1e-7),
                   r.flag("centered", false), o);
  }
  throw NotFoundError("[optimizer_from_config] unknown optimizer '" + name + "' (sgd, adam, adamw, rmsprop)");
}

LossPtr loss_from_config(const std::string& name, const Attrs& config) {
  const std::string ctx = "loss_from_config(" + name + ")";
  const bool cross_entropy = name.find("crossentropy") != std::string::npos;
  const ConfigReader r(config, ctx, cross_entropy ? std::vector<std::string>{"from_logits"} : std::vector<std::string>{});
  const bool logits = r.flag("from_logits", false);
  if (name == "sparse_categorical_crossentropy") return SparseCategoricalCrossentropy(logits);
  if (name == "categorical_crossentropy") return CategoricalCrossentropy(logits);
  if (name == "binary_crossentropy") return BinaryCrossentropy(logits);
  return get_loss(name);
}

FitOptions fit_options_from_config(const Attrs& config) {
  const ConfigReader r(config, "fit_options_from_config",
                       {"epochs", "batch_size", "validation_split", "shuffle", "seed", "verbose", "initial_epoch",
                        "distributed", "bucket_bytes"});
  FitOptions o;
  o.epochs = static_cast<int>(r.integer("epochs", o.epochs));
  o.batch_size = r.integer("batch_size", o.batch_size);
  o.validation_split = r.real("validation_split", o.validation_split);
  o.shuffle = r.flag("shuffle", o.shuffle);
  o.seed = r.seed();
  o.verbose = static_cast<int>(r.integer("verbose", o.verbose));
  o.initial_epoch = static_cast<int>(r.integer("initial_epoch", o.initial_epoch));
  if (r.flag("distributed", false)) {
    dist::BucketOptions buckets;
    buckets.bucket_bytes = r.integer("bucket_bytes", buckets.bucket_bytes);
    o.strategy = std::make_shared<MultiWorkerMirroredStrategy>(buckets);
  }
  return o;
}

}  // namespace loom::nn
