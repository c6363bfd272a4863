#pragma once
// The dispatcher's view of gradient tapes: a cheap per-thread check and the call that records an
// op on every active tape that watches one of its inputs. The tapes themselves live in the layer
// above (src/autograd), which installs the recorder when it loads: ops never include autograd.
#include <vector>

#include "core/internal_api.hpp"
#include "loom/attrs.hpp"
#include "loom/tensor.hpp"

namespace loom {
class OpDef;

namespace detail {

struct TapeThreadState {
  int active_tapes = 0;  // tapes of this thread that currently record
  int paused = 0;        // RecordingPause depth: no tape records while > 0
};
LOOM_INTERNAL_API TapeThreadState& tape_thread_state();

inline bool should_record() {
  const TapeThreadState& s = tape_thread_state();
  return s.active_tapes > 0 && s.paused == 0;
}

// Records one executed op on the active tapes of this thread (installed by the autograd layer).
using Recorder = void (*)(const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
                          const std::vector<Tensor>& outputs);
LOOM_INTERNAL_API void install_recorder(Recorder recorder);
LOOM_INTERNAL_API void record_op(const OpDef& op, const Attrs& attrs, const std::vector<Tensor>& inputs,
                                 const std::vector<Tensor>& outputs);

// Stops every tape of this thread from recording while alive (used inside forward functions
// and for host reads, so that only the op itself is recorded).
class RecordingPause {
 public:
  RecordingPause() { ++tape_thread_state().paused; }
  ~RecordingPause() { --tape_thread_state().paused; }
  RecordingPause(const RecordingPause&) = delete;
  RecordingPause& operator=(const RecordingPause&) = delete;
};

}  // namespace detail
}  // namespace loom
