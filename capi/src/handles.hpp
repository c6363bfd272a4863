#pragma once
// The opaque handle types of loom.h and the registry of live handles, so that a NULL, released
// or wrong-kind handle is an error rather than a crash.
#include <memory>
#include <shared_mutex>
#include <thread>

#include "errors.hpp"
#include "loom/attrs.hpp"
#include "loom/loom.h"
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
// take the model alone.
struct loom_model {
  std::shared_ptr<loom::nn::Sequential> value;
  std::shared_mutex mutex;
};
struct loom_optimizer {
  loom::nn::OptimizerPtr value;
};

namespace loom::capi {

enum class HandleKind { Tensor, Attrs, Variable, Tape, Layer, Model, Optimizer };

template <class H>
constexpr HandleKind kind_of();
template <> constexpr HandleKind kind_of<loom_tensor>() { return HandleKind::Tensor; }
template <> constexpr HandleKind kind_of<loom_attrs>() { return HandleKind::Attrs; }
template <> constexpr HandleKind kind_of<loom_variable>() { return HandleKind::Variable; }
template <> constexpr HandleKind kind_of<loom_tape>() { return HandleKind::Tape; }
template <> constexpr HandleKind kind_of<loom_layer>() { return HandleKind::Layer; }
template <> constexpr HandleKind kind_of<loom_model>() { return HandleKind::Model; }
template <> constexpr HandleKind kind_of<loom_optimizer>() { return HandleKind::Optimizer; }

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

}  // namespace loom::capi
