#include "loom/ops.hpp"
#include "ops/registry.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <atomic>
#include <string>

#include "loom/error.hpp"

namespace loom {
namespace {

struct PendingKernel {
  std::string op;
  DeviceType device;
  KernelFn fn;
  std::optional<DTypeMask> dtypes;  // none: the op's own
};

// Ops are defined during static initialisation (one file per op family) and never removed,
// so lookups after start-up need no lock. Kernels registered during static initialisation wait
// in `pending` until the first lookup, when every op is defined and they can be checked.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<OpDef>, std::less<>> ops;
  std::vector<PendingKernel> pending;
  std::once_flag sealed_once;
  std::atomic<bool> sealed{false};
};

Registry& registry() {
  static Registry r;
  return r;
}

const char* device_kind(DeviceType device) { return device == DeviceType::CPU ? "CPU" : "CUDA"; }

void install_kernel(Registry& r, const PendingKernel& k) {
  auto it = r.ops.find(k.op);
  if (it == r.ops.end()) {
    throw InternalError(std::string("[register_kernel] a ") + device_kind(k.device) + " kernel is registered for '" +
                        k.op + "', but no op of that name is defined");
  }
  OpDef& def = *it->second;
  const DTypeMask dtypes = k.dtypes.value_or(def.dtypes());
  if (dtypes & ~def.dtypes()) {
    throw InternalError(std::string("[register_kernel] the ") + device_kind(k.device) + " kernel of '" + k.op +
                        "' accepts " + mask_names(dtypes & ~def.dtypes()) + ", which the op does not (it accepts " +
                        mask_names(def.dtypes()) + "); a kernel may only narrow its op's dtypes");
  }
  def.kernels[static_cast<size_t>(k.device)] = KernelEntry{k.fn, dtypes};
}

// Installs the kernels registered while the library loaded; throws (at every lookup) while one
// of them names an op that does not exist.
void seal(Registry& r) {
  if (r.sealed.load(std::memory_order_acquire)) return;
  std::call_once(r.sealed_once, [&r] {
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const PendingKernel& k : r.pending) install_kernel(r, k);
    r.pending.clear();
    r.sealed.store(true, std::memory_order_release);
  });
}

AttrType type_of(const AttrValue& value) { return static_cast<AttrType>(value.index()); }

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

const InputSpec& OpDef::input(size_t index) const {
  return input_specs[max_inputs < 0 ? 0 : std::min(index, input_specs.size() - 1)];
}

OpBuilder& OpBuilder::inputs(std::initializer_list<const char*> names) {
  for (const char* n : names) def_.input_specs.push_back(InputSpec{n, def_.output_dtypes});
  def_.min_inputs = def_.max_inputs = static_cast<int>(def_.input_specs.size());
  return *this;
}
OpBuilder& OpBuilder::optional_inputs(std::initializer_list<const char*> names) {
  for (const char* n : names) def_.input_specs.push_back(InputSpec{n, def_.output_dtypes});
  def_.max_inputs = static_cast<int>(def_.input_specs.size());
  return *this;
}
OpBuilder& OpBuilder::variadic_input(const char* name, int min_count) {
  def_.input_specs = {InputSpec{name, def_.output_dtypes}};
  def_.min_inputs = min_count;
  def_.max_inputs = -1;
  return *this;
}
OpBuilder& OpBuilder::dtypes(DTypeMask mask) {
  for (InputSpec& spec : def_.input_specs) spec.dtypes = mask;
  def_.output_dtypes = mask;
  return *this;
}
OpBuilder& OpBuilder::input_dtypes(int index, DTypeMask mask) {
  def_.input_specs.at(static_cast<size_t>(index)).dtypes = mask;
  return *this;
}
OpBuilder& OpBuilder::outputs(std::initializer_list<const char*> names) {
  def_.outputs.assign(names.begin(), names.end());
  return *this;
}
OpBuilder& OpBuilder::variadic_outputs(const char* name) {
  def_.outputs = {name};
  def_.variadic_outputs = true;
  return *this;
}
OpBuilder& OpBuilder::attr(std::string name, AttrType type, bool required) {
  def_.attrs.push_back(AttrSpec{std::move(name), type, required, std::nullopt});
  return *this;
}
OpBuilder& OpBuilder::attr(std::string name, AttrValue default_value) {
  def_.defaults.set(name, default_value);
  def_.attrs.push_back(AttrSpec{std::move(name), type_of(default_value), false, std::move(default_value)});
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
OpBuilder& OpBuilder::fallback(ForwardFn f) {
  def_.fallback = f;
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
OpBuilder& OpBuilder::grad_through_fallback() {
  def_.grad_through_fallback = true;
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
OpBuilder& OpBuilder::reads_variables_exactly() {
  def_.reads_variables_exactly = true;
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
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto [it, fresh] = r.ops.try_emplace(std::string(name), nullptr);
  if (!fresh) throw InternalError("[define_op] op '" + std::string(name) + "' is defined twice");
  it->second = std::make_unique<OpDef>();
  it->second->name = std::string(name);
  return OpBuilder(*it->second);
}

namespace {
void register_kernel_entry(PendingKernel k) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.sealed.load(std::memory_order_acquire)) {
    install_kernel(r, k);
  } else {
    r.pending.push_back(std::move(k));
  }
}
}  // namespace

void register_kernel(std::string_view op, DeviceType device, KernelFn fn, DTypeMask dtypes) {
  register_kernel_entry(PendingKernel{std::string(op), device, fn, dtypes});
}

void register_kernel(std::string_view op, DeviceType device, KernelFn fn) {
  register_kernel_entry(PendingKernel{std::string(op), device, fn, std::nullopt});
}

const OpDef* try_find_op(std::string_view name) {
  Registry& r = registry();
  seal(r);
  auto it = r.ops.find(name);
  return it == r.ops.end() ? nullptr : it->second.get();
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
  Registry& r = registry();
  seal(r);
  std::vector<const OpDef*> out;
  for (const auto& [name, def] : r.ops) out.push_back(def.get());
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
