#include "loom/tape.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "autograd/id_table.hpp"
#include "ops/recording.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "ops/op_utils.hpp"
#include "ops/registry.hpp"

namespace loom {
namespace detail {

using CustomBackward = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// One recorded tensor: its identity, its metadata and (when the gradient reads it) the tensor.
struct TapeSlot {
  uint64_t id;
  TensorMeta meta;
  Tensor saved;
};

struct TapeEntry {
  const OpDef* op = nullptr;
  Attrs attrs;
  std::vector<TapeSlot> inputs;
  std::vector<TapeSlot> outputs;
  std::shared_ptr<CustomBackward> custom;  // custom_gradient entries
};

struct TapeImpl {
  bool persistent = false;
  bool watch_accessed_variables = true;
  std::atomic<bool> active{false};
  bool used = false;  // a non-persistent tape answers once
  int stopped = 0;    // stop_recording() depth
  std::thread::id owner = std::this_thread::get_id();
  IdSet tracked;  // watched tensors and outputs of recorded ops
  std::vector<TapeEntry> entries;
  std::vector<Variable> watched_variables;
  GradientTape::GradientReadyHook ready_hook;

  void check_thread(const char* what) const {
    if (std::this_thread::get_id() != owner) {
      throw InvalidArgument(std::string("[GradientTape.") + what +
                            "] a tape belongs to the thread that created it");
    }
  }
  void watch(const Tensor& t) {
    if (!t.defined()) throw InvalidArgument("[GradientTape.watch] the tensor handle is empty");
    if (tracked.insert(t.id()) && t.is_variable()) {
      watched_variables.push_back(Variable::from_tensor(t));
    }
  }
  void clear() {
    entries.clear();
    tracked.clear();
    watched_variables.clear();
  }
};

namespace {

// Shared ownership: a tape destroyed on another thread (a misuse we survive) is pruned here.
thread_local std::vector<std::shared_ptr<TapeImpl>> active_tapes;

TensorMeta meta_of(const Tensor& t) { return TensorMeta{t.shape(), t.dtype(), t.device()}; }

void record_on(TapeImpl& tape, const OpDef& op, const Attrs& attrs,
               const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
               const std::shared_ptr<CustomBackward>& custom) {
  bool connected = false;
  for (const Tensor& in : inputs) {
    if (tape.watch_accessed_variables && in.is_variable() && in.impl()->variable->trainable &&
        is_floating(in.dtype())) {
      tape.watch(in);
    }
    connected = connected || tape.tracked.contains(in.id());
  }
  if (!connected) return;
  TapeEntry& e = tape.entries.emplace_back();
  e.op = &op;
  e.attrs = attrs;
  e.custom = custom;
  const bool keep_inputs = op.saves_inputs || custom;
  const bool keep_outputs = op.saves_outputs || custom;
  e.inputs.reserve(inputs.size());
  for (const Tensor& in : inputs) e.inputs.push_back({in.id(), meta_of(in), keep_inputs ? in : Tensor()});
  e.outputs.reserve(outputs.size());
  for (const Tensor& out : outputs) {
    e.outputs.push_back({out.id(), meta_of(out), keep_outputs ? out : Tensor()});
    if (is_floating(out.dtype())) tape.tracked.insert(out.id());
  }
}

void record_all(const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
                const std::vector<Tensor>& outputs, const std::shared_ptr<CustomBackward>& custom) {
  for (size_t i = 0; i < active_tapes.size();) {
    TapeImpl& tape = *active_tapes[i];
    if (!tape.active.load()) {
      active_tapes.erase(active_tapes.begin() + static_cast<std::ptrdiff_t>(i));
      --tape_thread_state().active_tapes;
      continue;
    }
    if (tape.stopped == 0) record_on(tape, op, attrs, inputs, outputs, custom);
    ++i;
  }
}

// Ids that depend on any source, walking the record forwards; entries that touch none are
// skipped by the backward pass.
std::vector<bool> live_entries(const TapeImpl& tape, IdSet& reach) {
  std::vector<bool> live(tape.entries.size(), false);
  for (size_t i = 0; i < tape.entries.size(); ++i) {
    const TapeEntry& e = tape.entries[i];
    for (const TapeSlot& in : e.inputs) {
      if (reach.contains(in.id)) {
        live[i] = true;
        break;
      }
    }
    if (live[i]) {
      for (const TapeSlot& out : e.outputs) reach.insert(out.id);
    }
  }
  return live;
}

void accumulate(IdTable<Tensor>& grads, uint64_t id, const Tensor& g) {
  bool inserted = false;
  Tensor& slot = grads.get_or_insert(id, &inserted);
  slot = inserted ? g : add(slot, g);
}

// The gradient of an op marked grad_through_fallback: its fallback (the op in terms of other ops)
// differentiated on a nested tape, which outer tapes record too, so higher orders work.
std::vector<Tensor> fallback_gradients(const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
                                       const std::vector<Tensor>& out_grads) {
  GradientTape tape;
  tape.watch(inputs);
  const std::vector<Tensor> outputs = op.fallback(OpCall{op, inputs, attrs, inputs.at(0).device()});
  std::vector<Tensor> targets, seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!out_grads[i].defined()) continue;
    targets.push_back(outputs[i]);
    seeds.push_back(out_grads[i]);
  }
  return tape.gradient(targets, inputs, seeds);
}

std::vector<Tensor> entry_gradients(TapeEntry& e, const std::vector<Tensor>& out_grads,
                                    const std::vector<bool>& needs) {
  if (e.custom) {  // user code gets zeros for outputs no gradient reached
    std::vector<Tensor> filled;
    for (size_t i = 0; i < out_grads.size(); ++i) {
      filled.push_back(out_grads[i].defined() ? out_grads[i] : ops::grad_or_zeros(Tensor(), e.outputs[i].meta));
    }
    return (*e.custom)(filled);
  }
  std::vector<Tensor> inputs, outputs;
  std::vector<TensorMeta> input_metas;
  for (const TapeSlot& in : e.inputs) {
    inputs.push_back(in.saved);
    input_metas.push_back(in.meta);
  }
  for (const TapeSlot& out : e.outputs) outputs.push_back(out.saved);
  if (!e.op->grad) return fallback_gradients(*e.op, e.attrs, inputs, out_grads);
  GradCall call{*e.op, e.attrs, inputs, input_metas, outputs, out_grads, needs};
  // Single-output ops always receive a defined gradient; multi-output ones may see gaps.
  return e.op->grad(call);
}

// For the gradient-ready hook: the sources whose gradient is final once the backward pass has
// processed entry k (the first live entry that reads them), by k; sources no live entry reads
// are final from the start and listed last, under entries.size().
std::vector<std::vector<size_t>> sources_final_after(const TapeImpl& tape, const std::vector<bool>& live,
                                                     const std::vector<Tensor>& sources) {
  std::vector<std::vector<size_t>> final_after(tape.entries.size() + 1);
  std::unordered_map<uint64_t, std::vector<size_t>> pending;
  for (size_t i = 0; i < sources.size(); ++i) pending[sources[i].id()].push_back(i);
  for (size_t k = 0; k < tape.entries.size() && !pending.empty(); ++k) {
    if (!live[k]) continue;
    for (const TapeSlot& in : tape.entries[k].inputs) {
      auto it = pending.find(in.id);
      if (it == pending.end()) continue;
      for (size_t i : it->second) final_after[k].push_back(i);
      pending.erase(it);
    }
  }
  for (const auto& [id, indices] : pending) {
    for (size_t i : indices) final_after.back().push_back(i);
  }
  return final_after;
}

// What gradient() returns for one source.
Tensor source_gradient(IdTable<Tensor>& grads, const Tensor& source, UnconnectedGradients unconnected) {
  if (!is_floating(source.dtype())) return Tensor();
  if (const Tensor* g = grads.find(source.id())) return *g;
  return unconnected == UnconnectedGradients::Zero ? zeros_like(source) : Tensor();
}

// One step of the backward pass: the gradients of entry `e`'s inputs from those of its outputs,
// added to `grads`.
void backprop_entry(TapeEntry& e, IdTable<Tensor>& grads, const IdSet& reach, bool persistent) {
  std::vector<Tensor> out_grads(e.outputs.size());
  bool any = false;
  for (size_t j = 0; j < e.outputs.size(); ++j) {
    if (const Tensor* g = grads.find(e.outputs[j].id)) {
      out_grads[j] = *g;
      any = true;
    }
  }
  if (!any) return;
  std::vector<bool> needs(e.inputs.size());
  bool wanted = false;
  for (size_t i = 0; i < needs.size(); ++i) {
    needs[i] = !(e.op->nondiff_inputs & (1u << i)) && reach.contains(e.inputs[i].id) &&
               is_floating(e.inputs[i].meta.dtype);
    wanted = wanted || needs[i];
  }
  if (!wanted) return;
  const std::vector<Tensor> in_grads = entry_gradients(e, out_grads, needs);
  if (in_grads.size() != e.inputs.size()) {
    throw InvalidArgument("[GradientTape.gradient] the gradient of '" + e.op->name + "' returned " +
                          std::to_string(in_grads.size()) + " tensors for " +
                          std::to_string(e.inputs.size()) + " inputs");
  }
  for (size_t i = 0; i < in_grads.size(); ++i) {
    if (!needs[i] || !in_grads[i].defined()) continue;
    if (in_grads[i].shape() != e.inputs[i].meta.shape) {
      throw InternalError("[GradientTape.gradient] the gradient of '" + e.op->name +
                          "' for input " + std::to_string(i) + " has shape " +
                          in_grads[i].shape().str() + ", expected " +
                          e.inputs[i].meta.shape.str());
    }
    accumulate(grads, e.inputs[i].id, in_grads[i]);
  }
  if (!persistent) {  // free what this entry kept as soon as it has been used
    for (TapeSlot& slot : e.inputs) slot.saved = Tensor();
    for (TapeSlot& slot : e.outputs) slot.saved = Tensor();
  }
}

}  // namespace

// The dispatcher records through this (ops/recording.hpp): installed when the library loads.
const bool recorder_installed = [] {
  install_recorder([](const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
                      const std::vector<Tensor>& outputs) { record_all(op, attrs, inputs, outputs, nullptr); });
  return true;
}();

}  // namespace detail

using detail::TapeImpl;

GradientTape::GradientTape(bool persistent, bool watch_accessed_variables)
    : impl_(std::make_shared<TapeImpl>()) {
  impl_->entries.reserve(8);  // a small step's entries without regrowing (1, 2, 4, ...)
  impl_->persistent = persistent;
  impl_->watch_accessed_variables = watch_accessed_variables;
  impl_->active = true;
  detail::active_tapes.push_back(impl_);
  ++detail::tape_thread_state().active_tapes;
}

GradientTape::~GradientTape() {
  if (impl_->owner == std::this_thread::get_id()) stop();
  else impl_->active = false;  // the owner thread drops it at its next op
}

void GradientTape::stop() {
  impl_->check_thread("stop");
  if (!impl_->active.exchange(false)) return;
  auto& tapes = detail::active_tapes;
  tapes.erase(std::remove(tapes.begin(), tapes.end(), impl_), tapes.end());
  --detail::tape_thread_state().active_tapes;
}

void GradientTape::watch(const Tensor& tensor) {
  impl_->check_thread("watch");
  impl_->watch(tensor);
}

void GradientTape::watch(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) watch(t);
}

bool GradientTape::persistent() const { return impl_->persistent; }

std::vector<Variable> GradientTape::watched_variables() const { return impl_->watched_variables; }

void GradientTape::set_gradient_ready_hook(GradientReadyHook hook) {
  impl_->check_thread("set_gradient_ready_hook");
  impl_->ready_hook = std::move(hook);
}

void GradientTape::reset() {
  impl_->check_thread("reset");
  impl_->clear();
  impl_->used = false;
}

GradientTape::RecordingStop::RecordingStop(std::shared_ptr<TapeImpl> tape) : tape_(std::move(tape)) {
  ++tape_->stopped;
}
GradientTape::RecordingStop::~RecordingStop() { --tape_->stopped; }

GradientTape::RecordingStop GradientTape::stop_recording() {
  impl_->check_thread("stop_recording");
  return RecordingStop(impl_);
}

Tensor GradientTape::gradient(const Tensor& target, const Tensor& source,
                              UnconnectedGradients unconnected) {
  return gradient(std::vector<Tensor>{target}, std::vector<Tensor>{source}, {}, unconnected)[0];
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                           const std::vector<Tensor>& output_gradients,
                                           UnconnectedGradients unconnected) {
  return gradient(std::vector<Tensor>{target}, sources, output_gradients, unconnected);
}

std::vector<Tensor> GradientTape::gradient(const std::vector<Tensor>& targets,
                                           const std::vector<Tensor>& sources,
                                           const std::vector<Tensor>& output_gradients,
                                           UnconnectedGradients unconnected) {
  TapeImpl& tape = *impl_;
  tape.check_thread("gradient");
  if (tape.used && !tape.persistent) {
    throw InvalidArgument(
        "[GradientTape.gradient] a non-persistent tape can only compute gradients once; "
        "create it with persistent=true to call gradient() several times");
  }
  if (!output_gradients.empty() && output_gradients.size() != targets.size()) {
    throw InvalidArgument("[GradientTape.gradient] got " + std::to_string(output_gradients.size()) +
                          " output gradients for " + std::to_string(targets.size()) + " targets");
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!targets[i].defined()) throw InvalidArgument("[GradientTape.gradient] target " + std::to_string(i) + " is an empty tensor handle");
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    if (!sources[i].defined()) throw InvalidArgument("[GradientTape.gradient] source " + std::to_string(i) + " is an empty tensor handle");
  }
  tape.used = true;
  // This tape does not record its own backward pass; outer tapes do (higher-order gradients).
  RecordingStop pause_this(impl_);

  detail::IdSet reach;
  for (const Tensor& s : sources) {  // a source the tape never watched gets no gradient (as TF)
    if (is_floating(s.dtype()) && tape.tracked.contains(s.id())) reach.insert(s.id());
  }
  const std::vector<bool> live = detail::live_entries(tape, reach);

  detail::IdTable<Tensor> grads;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    if (!is_floating(t.dtype())) continue;
    Tensor seed;
    if (!output_gradients.empty() && output_gradients[i].defined()) {
      seed = output_gradients[i];
      if (seed.shape() != t.shape() || seed.dtype() != t.dtype()) {
        throw ShapeError("[GradientTape.gradient] output gradient " + std::to_string(i) + " is " +
                         seed.shape().str() + " " + dtype_name(seed.dtype()) + ", target is " +
                         t.shape().str() + " " + dtype_name(t.dtype()));
      }
    } else {
      seed = ones_like(t);
    }
    detail::accumulate(grads, t.id(), seed);
  }

  std::vector<std::vector<size_t>> final_after;
  if (tape.ready_hook) final_after = detail::sources_final_after(tape, live, sources);
  const auto hand_over = [&](size_t k) {
    if (!tape.ready_hook) return;
    for (size_t i : final_after[k]) tape.ready_hook(sources[i], detail::source_gradient(grads, sources[i], unconnected));
  };

  for (size_t k = tape.entries.size(); k-- > 0;) {
    if (!live[k]) continue;
    detail::backprop_entry(tape.entries[k], grads, reach, tape.persistent);
    hand_over(k);
  }
  hand_over(tape.entries.size());

  std::vector<Tensor> result;
  result.reserve(sources.size());
  for (const Tensor& s : sources) result.push_back(detail::source_gradient(grads, s, unconnected));
  if (!tape.persistent) {
    grads.clear();
    tape.entries.clear();
    tape.tracked.clear();
  }
  return result;
}

std::vector<Tensor> custom_gradient(
    const std::function<CustomGradientResult(const std::vector<Tensor>& inputs)>& forward,
    const std::vector<Tensor>& inputs) {
  static const OpDef& op = find_op("custom_gradient", "custom_gradient");
  CustomGradientResult r;
  {
    detail::RecordingPause pause;
    r = forward(inputs);
    // An output that is one of the inputs itself (clip_gradient's forward) gets a tensor of its
    // own: the tape would otherwise follow the custom gradient and the input's own path both.
    for (Tensor& y : r.outputs) {
      const bool is_input = std::any_of(inputs.begin(), inputs.end(),
                                        [&](const Tensor& x) { return y.defined() && x.impl() == y.impl(); });
      if (is_input) y = identity(y);
    }
  }
  if (!r.backward) {
    throw InvalidArgument("[custom_gradient] the forward function returned no backward function");
  }
  if (detail::should_record()) {
    auto backward = std::make_shared<detail::CustomBackward>(
        [fn = r.backward, n = inputs.size()](const std::vector<Tensor>& grads) {
          std::vector<Tensor> out = fn(grads);
          if (out.size() != n) {
            throw InvalidArgument("[custom_gradient] the backward function returned " +
                                  std::to_string(out.size()) + " gradients for " +
                                  std::to_string(n) + " inputs");
          }
          return out;
        });
    detail::record_all(op, Attrs{}, inputs, r.outputs, backward);
  }
  return r.outputs;
}

LOOM_REGISTER_OPS(custom_gradient) {
  define_op("custom_gradient").variadic_input("inputs", 0).variadic_outputs("outputs").internal()
      .forward([](const OpCall& call) -> std::vector<Tensor> {
        throw InvalidArgument(std::string("[") + call.name() +
                              "] is recorded by loom::custom_gradient and cannot be called");
      })
      .doc("tape entry of a user-supplied gradient (see custom_gradient)");
}

NoGradGuard::NoGradGuard() { ++detail::tape_thread_state().paused; }
NoGradGuard::~NoGradGuard() { --detail::tape_thread_state().paused; }

}  // namespace loom
