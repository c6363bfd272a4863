#pragma once
// The opaque handle types of loom.h and the registry of live handles, so that a NULL, released
// or wrong-kind handle is an error rather than a crash.
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "errors.hpp"
#include "loom/attrs.hpp"
#include "loom/io.hpp"
#include "loom/loom.h"
#include "loom/nn/distributed.hpp"
#include "loom/nn/functional.hpp"
#include "loom/nn/layer.hpp"
#include "loom/nn/model.hpp"
#include "loom/nn/optimizers.hpp"
#include "loom/tape.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

struct loom_tensor {
  loom::Tensor value;
};
struct loom_attrs {
  loom::Attrs value;
};
struct loom_variable {
  loom::Variable value;
};
struct loom_tape {
  std::unique_ptr<loom::GradientTape> tape;
  std::unique_ptr<loom::GradientTape::RecordingStop> pause;  // set between stop/resume_recording
  std::thread::id owner = std::this_thread::get_id();
};
struct loom_layer {
  loom::nn::LayerPtr value;
};
// predict may run concurrently on one model (shared lock); fit, compile and weight changes
// take the model alone. While fit runs, its own callbacks (on the fitting thread) use the model
// without the lock, which fit holds: they may save, evaluate, predict or change the model.
struct loom_model {
  std::shared_ptr<loom::nn::Model> value;
  std::shared_mutex mutex;
  std::atomic<std::thread::id> fit_thread{};
};
struct loom_optimizer {
  loom::nn::OptimizerPtr value;
};
struct loom_symbolic {
  loom::nn::SymbolicTensor value;
};
struct loom_named_tensors {
  loom::NamedTensors value;
};
struct loom_dist_optimizer {
  std::unique_ptr<loom::nn::DistributedOptimizer> value;
};

namespace loom::capi {

enum class HandleKind { Tensor, Attrs, Variable, Tape, Layer, Model, Optimizer, Symbolic, NamedTensors, DistOptimizer };

template <class H>
constexpr HandleKind kind_of();
template <> constexpr HandleKind kind_of<loom_tensor>() { return HandleKind::Tensor; }
template <> constexpr HandleKind kind_of<loom_attrs>() { return HandleKind::Attrs; }
template <> constexpr HandleKind kind_of<loom_variable>() { return HandleKind::Variable; }
template <> constexpr HandleKind kind_of<loom_tape>() { return HandleKind::Tape; }
template <> constexpr HandleKind kind_of<loom_layer>() { return HandleKind::Layer; }
template <> constexpr HandleKind kind_of<loom_model>() { return HandleKind::Model; }
template <> constexpr HandleKind kind_of<loom_optimizer>() { return HandleKind::Optimizer; }
template <> constexpr HandleKind kind_of<loom_symbolic>() { return HandleKind::Symbolic; }
template <> constexpr HandleKind kind_of<loom_named_tensors>() { return HandleKind::NamedTensors; }
template <> constexpr HandleKind kind_of<loom_dist_optimizer>() { return HandleKind::DistOptimizer; }

const char* handle_kind_name(HandleKind kind);

void register_handle(const void* handle, HandleKind kind);
// False when `handle` is not a live handle of this kind (then nothing changes).
bool unregister_handle(const void* handle, HandleKind kind);
// Throws InvalidArgument naming the argument when `handle` is NULL, released or of another kind.
void check_handle(const void* handle, HandleKind kind, const char* argument);

// A new handle owning `value`, registered as live.
template <class H>
H* adopt_handle(std::unique_ptr<H> handle) {
  register_handle(handle.get(), kind_of<H>());
  return handle.release();
}
template <class H, class V>
H* new_handle(V&& value) {
  auto handle = std::make_unique<H>();
  handle->value = std::forward<V>(value);
  return adopt_handle(std::move(handle));
}

template <class H>
const H& live(const H* handle, const char* argument) {
  check_handle(handle, kind_of<H>(), argument);
  return *handle;
}
template <class H>
H& live(H* handle, const char* argument) {
  check_handle(handle, kind_of<H>(), argument);
  return *handle;
}

// Releases a handle; a stale one is reported through the last error, as release returns void.
void report_stale_release(const char* function, HandleKind kind);
template <class H>
void release_handle(H* handle, const char* function) {
  if (handle == nullptr) return;
  if (!unregister_handle(handle, kind_of<H>())) {
    report_stale_release(function, kind_of<H>());
    return;
  }
  delete handle;
}

// Runs `body` guarded and hands the tensor it returns to the caller as a new handle in *out.
template <class Body>
loom_status tensor_result(const char* function, loom_tensor** out, Body&& body) {
  return guarded(function, [&] {
    loom_tensor*& result = out_param(out, "out");
    loom::Tensor t = body();
    result = new_handle<loom_tensor>(std::move(t));
  });
}

// Inference on a model whose layers all exist changes nothing, so it may share the model.
inline bool fully_built(loom::nn::Model& model) {
  if (!model.built()) return false;
  for (loom::nn::Layer* l : model.all_layers()) {
    if (!l->built()) return false;
  }
  return true;
}

// Runs `body` on the model under its lock: shared for inference on a fully built model,
// exclusive otherwise; without the lock inside the model's own fit callbacks.
template <class Body>
void with_model(loom_model* handle, bool shared, Body&& body) {
  loom_model& m = live(handle, "model");
  // A callback of this model's own fit (on the fitting thread): fit holds the lock, so the
  // callback uses the model without it (save, evaluate, predict, change the learning rate).
  if (m.fit_thread.load() == std::this_thread::get_id()) {
    body(*m.value);
    return;
  }
  if (shared && fully_built(*m.value)) {
    std::shared_lock lock(m.mutex);
    body(*m.value);
  } else {
    std::unique_lock lock(m.mutex);
    body(*m.value);
  }
}

}  // namespace loom::capi
