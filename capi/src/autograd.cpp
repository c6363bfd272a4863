// Variables, the gradient tape and custom gradients through C callbacks.
#include "errors.hpp"
#include "callbacks.hpp"
#include "handles.hpp"

using namespace loom::capi;

namespace {

const loom::Tensor& tensor_arg(const loom_tensor* t, const char* argument) { return live(t, argument).value; }
loom::Variable& variable_arg(const loom_variable* v, const char* argument) {
  return const_cast<loom::Variable&>(live(v, argument).value);
}
loom::GradientTape& tape_arg(loom_tape* t) { return *live(t, "tape").tape; }

std::string indexed(const char* name, size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_variable_new(const loom_tensor* initial, const char* name, int32_t trainable,
                                        loom_variable** out) {
  return guarded("loom_variable_new", [&] {
    loom_variable*& result = out_param(out, "out");
    loom::Variable v(tensor_arg(initial, "initial"), name ? name : "Variable", trainable != 0);
    result = new_handle<loom_variable>(std::move(v));
  });
}

LOOM_CAPI void loom_variable_release(loom_variable* variable) { release_handle(variable, "loom_variable_release"); }

LOOM_CAPI loom_status loom_variable_tensor(const loom_variable* variable, loom_tensor** out) {
  return tensor_result("loom_variable_tensor", out, [&] { return loom::Tensor(variable_arg(variable, "variable")); });
}

LOOM_CAPI loom_status loom_variable_read(const loom_variable* variable, loom_tensor** out) {
  return tensor_result("loom_variable_read", out, [&] { return variable_arg(variable, "variable").read_value(); });
}

LOOM_CAPI loom_status loom_variable_name(const loom_variable* variable, char* buffer, size_t capacity) {
  return guarded("loom_variable_name", [&] { copy_out(variable_arg(variable, "variable").name(), buffer, capacity); });
}

LOOM_CAPI loom_status loom_variable_assign(loom_variable* variable, const loom_tensor* value) {
  return guarded("loom_variable_assign",
                 [&] { variable_arg(variable, "variable").assign(tensor_arg(value, "value")); });
}

LOOM_CAPI loom_status loom_variable_assign_add(loom_variable* variable, const loom_tensor* delta) {
  return guarded("loom_variable_assign_add",
                 [&] { variable_arg(variable, "variable").assign_add(tensor_arg(delta, "delta")); });
}

LOOM_CAPI loom_status loom_variable_assign_sub(loom_variable* variable, const loom_tensor* delta) {
  return guarded("loom_variable_assign_sub",
                 [&] { variable_arg(variable, "variable").assign_sub(tensor_arg(delta, "delta")); });
}

LOOM_CAPI loom_status loom_variable_assign_slice(loom_variable* variable, const int64_t* begin, const int64_t* end,
                                                 const int64_t* step, int32_t n_axes, const loom_tensor* value) {
  return guarded("loom_variable_assign_slice", [&] {
    loom::Variable& v = variable_arg(variable, "variable");
    const loom::Tensor& values = tensor_arg(value, "value");
    count_arg(begin, n_axes, "begin", "n_axes");
    count_arg(end, n_axes, "end", "n_axes");
    std::vector<loom::TensorIndex> indices;
    for (int32_t i = 0; i < n_axes; ++i) {
      const auto bound = [](int64_t b) -> std::optional<int64_t> {
        if (b == LOOM_SLICE_START || b == LOOM_SLICE_END) return std::nullopt;
        return b;
      };
      indices.emplace_back(loom::Slice(bound(begin[i]), bound(end[i]), step ? step[i] : 1));
    }
    v[indices].assign(values);
  });
}

LOOM_CAPI loom_status loom_tape_new(int32_t persistent, int32_t watch_accessed_variables, loom_tape** out) {
  return guarded("loom_tape_new", [&] {
    loom_tape*& result = out_param(out, "out");
    auto handle = std::make_unique<loom_tape>();
    handle->tape = std::make_unique<loom::GradientTape>(persistent != 0, watch_accessed_variables != 0);
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI void loom_tape_release(loom_tape* tape) {
  // A tape ends with its handle; the pause (if any) goes first, as in C++ scope order.
  if (tape != nullptr && unregister_handle(tape, HandleKind::Tape)) {
    try {
      tape->pause.reset();
      tape->tape.reset();
    } catch (...) {  // destructors do not throw; nothing may escape regardless
    }
    delete tape;
  } else if (tape != nullptr) {
    report_stale_release("loom_tape_release", HandleKind::Tape);
  }
}

LOOM_CAPI loom_status loom_tape_watch(loom_tape* tape, const loom_tensor* tensor) {
  return guarded("loom_tape_watch", [&] { tape_arg(tape).watch(tensor_arg(tensor, "tensor")); });
}

LOOM_CAPI loom_status loom_tape_watch_variable(loom_tape* tape, const loom_variable* variable) {
  return guarded("loom_tape_watch_variable", [&] { tape_arg(tape).watch(variable_arg(variable, "variable")); });
}

LOOM_CAPI loom_status loom_tape_stop_recording(loom_tape* tape) {
  return guarded("loom_tape_stop_recording", [&] {
    loom_tape& t = live(tape, "tape");
    require(!t.pause, "recording is already stopped on this tape");
    t.pause.reset(new loom::GradientTape::RecordingStop(t.tape->stop_recording()));
  });
}

LOOM_CAPI loom_status loom_tape_resume_recording(loom_tape* tape) {
  return guarded("loom_tape_resume_recording", [&] {
    loom_tape& t = live(tape, "tape");
    require(t.owner == std::this_thread::get_id(),
            "[GradientTape.resume_recording] a tape belongs to the thread that created it");
    require(t.pause != nullptr, "recording was not stopped on this tape");
    t.pause.reset();
  });
}

LOOM_CAPI loom_status loom_tape_reset(loom_tape* tape) {
  return guarded("loom_tape_reset", [&] { tape_arg(tape).reset(); });
}

LOOM_CAPI loom_status loom_tape_gradient(loom_tape* tape, const loom_tensor* target, const loom_tensor* const* sources,
                                         int32_t n_sources, const loom_variable* const* variables, int32_t n_variables,
                                         const loom_tensor* output_gradient, int32_t unconnected_zero,
                                         loom_tensor** grads) {
  return guarded("loom_tape_gradient", [&] {
    loom::GradientTape& t = tape_arg(tape);
    const loom::Tensor& y = tensor_arg(target, "target");
    count_arg(sources, n_sources, "sources", "n_sources");
    count_arg(variables, n_variables, "variables", "n_variables");
    require(grads != nullptr, "grads is NULL");
    for (int32_t i = 0; i < n_sources + n_variables; ++i) grads[i] = nullptr;
    std::vector<loom::Tensor> xs;
    for (int32_t i = 0; i < n_sources; ++i) xs.push_back(tensor_arg(sources[i], indexed("sources", i).c_str()));
    for (int32_t i = 0; i < n_variables; ++i) xs.push_back(variable_arg(variables[i], indexed("variables", i).c_str()));
    std::vector<loom::Tensor> dy;
    if (output_gradient) dy.push_back(tensor_arg(output_gradient, "output_gradient"));
    const std::vector<loom::Tensor> g = t.gradient(
        y, xs, dy, unconnected_zero ? loom::UnconnectedGradients::Zero : loom::UnconnectedGradients::None);
    for (size_t i = 0; i < g.size(); ++i) grads[i] = g[i].defined() ? new_handle<loom_tensor>(g[i]) : nullptr;
  });
}

LOOM_CAPI loom_status loom_custom_gradient(loom_custom_forward_fn forward, loom_custom_backward_fn backward, void* user,
                                           void (*destroy)(void* user), const loom_tensor* const* inputs,
                                           int32_t n_inputs, loom_tensor** outputs, int32_t capacity,
                                           int32_t* n_outputs) {
  // destroy(user) runs once, when neither this call nor a recorded gradient needs `user`.
  std::shared_ptr<void> owner(user, [destroy](void* u) {
    if (destroy) destroy(u);
  });
  return guarded("loom_custom_gradient", [&] {
    require(forward != nullptr, "forward is NULL");
    require(backward != nullptr, "backward is NULL");
    count_arg(inputs, n_inputs, "inputs", "n_inputs");
    count_arg(outputs, capacity, "outputs", "capacity");
    for (int32_t i = 0; i < capacity; ++i) outputs[i] = nullptr;
    std::vector<loom::Tensor> xs;
    for (int32_t i = 0; i < n_inputs; ++i) xs.push_back(tensor_arg(inputs[i], indexed("inputs", i).c_str()));

    const auto run_forward = [&](const std::vector<loom::Tensor>& in) {
      CallbackHandles in_handles(in);
      std::vector<loom_tensor*> results(static_cast<size_t>(capacity), nullptr);
      int32_t produced = 0;
      const CallbackReport report("forward");
      const int32_t status = forward(owner.get(), in_handles.data(), in_handles.size(), results.data(), capacity, &produced);
      if (status == 0 && (produced < 1 || produced > capacity)) {
        adopt_results(results, 0, true);
        throw Failure(LOOM_ERROR_CALLBACK, "forward callback reported " + std::to_string(produced) +
                                               " outputs; capacity is " + std::to_string(capacity));
      }
      const size_t n = static_cast<size_t>(produced);
      std::vector<loom::Tensor> ys = adopt_results(results, status == 0 ? n : 0, false);
      report.check(status);
      loom::CustomGradientResult r;
      r.outputs = std::move(ys);
      r.backward = [owner, backward, in](const std::vector<loom::Tensor>& dys) {
        CallbackHandles in_handles2(in), dy_handles(dys);
        std::vector<loom_tensor*> grads(in.size(), nullptr);
        const CallbackReport report_backward("backward");
        const int32_t s = backward(owner.get(), in_handles2.data(), in_handles2.size(), dy_handles.data(),
                                   dy_handles.size(), grads.data());
        std::vector<loom::Tensor> dxs = adopt_results(grads, s == 0 ? grads.size() : 0, true);
        report_backward.check(s);
        return dxs;
      };
      return r;
    };
    const std::vector<loom::Tensor> ys = loom::custom_gradient(run_forward, xs);
    for (size_t i = 0; i < ys.size(); ++i) outputs[i] = new_handle<loom_tensor>(ys[i]);
    if (n_outputs) *n_outputs = static_cast<int32_t>(ys.size());
  });
}

}  // extern "C"
