#include "ops/recording.hpp"

#include <atomic>

#include "loom/error.hpp"

namespace loom::detail {
namespace {
std::atomic<Recorder> installed_recorder{nullptr};
}  // namespace

TapeThreadState& tape_thread_state() {
  thread_local TapeThreadState state;
  return state;
}

void install_recorder(Recorder recorder) { installed_recorder.store(recorder, std::memory_order_release); }

void record_op(const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& outputs) {
  // A tape is active, so the autograd layer has loaded and installed its recorder.
  const Recorder recorder = installed_recorder.load(std::memory_order_acquire);
  if (!recorder) throw InternalError("[record_op] a tape is active but no recorder is installed");
  recorder(op, attrs, inputs, outputs);
}

}  // namespace loom::detail
