#include "loom/ops.hpp"
#include "ops/registry.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "loom/error.hpp"

namespace loom {
namespace {

// Ops are defined during static initialisation (one file per op family) and never removed,
// so lookups after start-up need no lock.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<OpDef>, std::less<>> ops;

  OpDef& get_or_create(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = ops.find(name);
    if (it == ops.end()) {
      auto def = std::make_unique<OpDef>();
      def->name = std::string(name);
      it = ops.emplace(def->name, std::move(def)).first;
    }
    return *it->second;
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

bool is_defined(const OpDef& def) {
  return def.infer != nullptr || def.forward != nullptr || def.kind == OpKind::InPlace;
}

}  // namespace

std::string mask_names(DTypeMask mask) {
  std::string out;
  for (int i = 0; i < kNumDTypes; ++i) {
    if (mask & (1u << i)) {
      if (!out.empty()) out += ", ";
      out += dtype_name(static_cast<DType>(i));
    }
  }
  return out.empty() ? "none" : out;
}

const char* OpCall::name() const { return op.name.c_str(); }
const char* GradCall::name() const { return op.name.c_str(); }

const AttrSpec* OpDef::find_attr(std::string_view attr) const {
  for (const AttrSpec& spec : attrs) {
    if (spec.name == attr) return &spec;
  }
  return nullptr;
}

OpBuilder& OpBuilder::inputs(int min, int max) {
  def_.min_inputs = min;
  def_.max_inputs = max;
  return *this;
}
OpBuilder& OpBuilder::attr(std::string name, AttrType type, bool required) {
  def_.attrs.push_back(AttrSpec{std::move(name), type, required});
  return *this;
}
OpBuilder& OpBuilder::infer(InferFn f) {
  def_.kind = OpKind::Kernel;
  def_.infer = f;
  return *this;
}
OpBuilder& OpBuilder::forward(ForwardFn f, OpKind kind) {
  def_.kind = kind;
  def_.forward = f;
  return *this;
}
OpBuilder& OpBuilder::in_place() {
  def_.kind = OpKind::InPlace;
  return *this;
}
OpBuilder& OpBuilder::grad(GradFn f) {
  def_.grad = f;
  return *this;
}
OpBuilder& OpBuilder::nondiff(std::initializer_list<int> inputs) {
  for (int i : inputs) def_.nondiff_inputs |= 1u << i;
  return *this;
}
OpBuilder& OpBuilder::saves(bool inputs, bool outputs) {
  def_.saves_inputs = inputs;
  def_.saves_outputs = outputs;
  return *this;
}
OpBuilder& OpBuilder::internal() {
  def_.internal = true;
  return *this;
}
OpBuilder& OpBuilder::ignores_device_scope() {
  def_.ignores_device_scope = true;
  return *this;
}
OpBuilder& OpBuilder::no_gradient() {
  def_.composite_differentiable = false;
  return *this;
}
OpBuilder& OpBuilder::doc(std::string text) {
  def_.doc = std::move(text);
  return *this;
}

OpBuilder define_op(std::string_view name) {
  OpDef& def = registry().get_or_create(name);
  if (is_defined(def)) {
    throw InternalError("[define_op] op '" + std::string(name) + "' is defined twice");
  }
  return OpBuilder(def);
}

void register_kernel(std::string_view op, DeviceType device, KernelFn fn, DTypeMask dtypes) {
  OpDef& def = registry().get_or_create(op);
  def.kernels[static_cast<size_t>(device)] = KernelEntry{fn, dtypes};
}

const OpDef* try_find_op(std::string_view name) {
  Registry& r = registry();
  auto it = r.ops.find(name);
  if (it == r.ops.end() || !is_defined(*it->second)) return nullptr;
  return it->second.get();
}

const OpDef& find_op(std::string_view name, const char* context) {
  const OpDef* def = try_find_op(name);
  if (!def) {
    throw NotFoundError(std::string("[") + context + "] unknown op '" + std::string(name) +
                        "' (list_ops() gives the registered names)");
  }
  return *def;
}

std::vector<const OpDef*> all_ops() {
  std::vector<const OpDef*> out;
  for (const auto& [name, def] : registry().ops) {
    if (!is_defined(*def)) {
      throw InternalError("[op registry] kernels are registered for '" + name +
                          "', but no op of that name is defined");
    }
    out.push_back(def.get());
  }
  return out;
}

std::vector<std::string> list_ops() {
  std::vector<std::string> names;
  for (const OpDef* def : all_ops()) {
    if (!def->internal) names.push_back(def->name);
  }
  return names;
}

}  // namespace loom
