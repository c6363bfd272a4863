#pragma once
// TF2's tf.GradientTape in C++: ops run eagerly and, while a tape is active on this thread,
// every op that reads a watched tensor (or a trainable Variable, with auto-watch on) is recorded.
// gradient() walks the record backwards using each op's gradient, itself written with ops, so
// an outer tape records the gradient computation and higher-order gradients just work.
#include <functional>
#include <memory>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

namespace loom {

namespace detail {
struct TapeImpl;
}

/// What gradient() returns for a source the target does not depend on: None gives an
/// undefined Tensor, Zero gives zeros of the source's shape (TF's tf.UnconnectedGradients).
enum class UnconnectedGradients { None, Zero };

/// Records ops for reverse-mode differentiation (TF2's tf.GradientTape).
///
/// While active, every op that reads a watched tensor (or a trainable Variable, with auto-watch
/// on) is recorded. A tape belongs to the thread that created it: using it from another thread
/// is an InvalidArgument.
class LOOM_API GradientTape {
 public:
  /// Active from construction until stop() or destruction. Tapes nest; each thread has its own.
  /// A `persistent` tape answers gradient() more than once; `watch_accessed_variables` watches
  /// every trainable Variable an op reads.
  explicit GradientTape(bool persistent = false, bool watch_accessed_variables = true);
  /// Stops recording and frees the record.
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;             ///< Not copyable.
  GradientTape& operator=(const GradientTape&) = delete;  ///< Not copyable.

  /// Records ops that read `tensor` from now on, so gradients with respect to it can be taken
  /// (InvalidArgument for an undefined handle).
  void watch(const Tensor& tensor);
  /// Same as above, for each tensor of a list.
  void watch(const std::vector<Tensor>& tensors);

  /// d(sum of target)/d(source) for each source (a non-scalar target is summed, as TF), or
  /// d(sum_i output_gradients[i] * targets[i]) when output gradients are given. Integer and bool
  /// sources, and unconnected ones with UnconnectedGradients::None, give an undefined Tensor.
  /// A non-persistent tape answers once and then frees what it recorded; a second call is an
  /// InvalidArgument. An output gradient of another shape or dtype than its target is a
  /// ShapeError.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                               const std::vector<Tensor>& output_gradients = {},
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// Same as above, for several targets (their gradients add up); `output_gradients`, when
  /// given, has one entry per target.
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets,
                               const std::vector<Tensor>& sources,
                               const std::vector<Tensor>& output_gradients = {},
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// Same as above, for one target and one source.
  Tensor gradient(const Tensor& target, const Tensor& source,
                  UnconnectedGradients unconnected = UnconnectedGradients::None);

  /// Ops run while the returned object lives are not recorded on this tape.
  class LOOM_API RecordingStop {
   public:
    /// Pauses recording on `tape` (internal; call GradientTape::stop_recording()).
    explicit RecordingStop(std::shared_ptr<detail::TapeImpl> tape);
    /// Resumes recording (pauses nest).
    ~RecordingStop();
    RecordingStop(const RecordingStop&) = delete;             ///< Not copyable.
    RecordingStop& operator=(const RecordingStop&) = delete;  ///< Not copyable.

   private:
    std::shared_ptr<detail::TapeImpl> tape_;
  };
  /// Pauses recording on this tape until the returned object is destroyed (TF's
  /// `with tape.stop_recording():`).
  [[nodiscard]] RecordingStop stop_recording();

  /// What set_gradient_ready_hook() installs: called with a source and its final gradient
  /// (undefined when it has none, as gradient() returns it).
  using GradientReadyHook = std::function<void(const Tensor& source, const Tensor& gradient)>;
  /// Makes the following gradient() calls hand each source's gradient to `hook` as soon as it is
  /// final, that is once the backward pass has passed the first recorded op that read the
  /// source, before it goes on with the ops before that (PyTorch's gradient hooks, which
  /// DistributedDataParallel uses to start all-reduces early). Sources no recorded op read come
  /// last. Called on this thread, once per source per gradient() call; an exception from the hook
  /// ends gradient() with it. An empty function removes the hook.
  void set_gradient_ready_hook(GradientReadyHook hook);

  /// Forgets everything recorded and watched so far (the tape stays active).
  void reset();
  /// Ends recording (as leaving TF's `with` block); gradient() still works afterwards.
  void stop();
  /// Whether gradient() may be called more than once.
  bool persistent() const;
  /// Variables this tape watched, explicitly or by auto-watch, in first-watch order.
  std::vector<Variable> watched_variables() const;

 private:
  std::shared_ptr<detail::TapeImpl> impl_;
};

/// While it lives, no gradient tape of this thread records anything (libtorch's
/// torch::NoGradGuard, PyTorch's `with torch.no_grad():`): ops run as usual but are not part of
/// any gradient. For work around training that must not be differentiated, such as weight
/// updates and metrics. Guards nest; a tape's own stop_recording() pauses only that tape.
class LOOM_API NoGradGuard {
 public:
  NoGradGuard();   ///< Pauses recording on every tape of this thread.
  ~NoGradGuard();  ///< Resumes it (unless an outer guard is still alive).
  NoGradGuard(const NoGradGuard&) = delete;             ///< Not copyable.
  NoGradGuard& operator=(const NoGradGuard&) = delete;  ///< Not copyable.
};

/// What the `forward` function of custom_gradient returns.
struct CustomGradientResult {
  std::vector<Tensor> outputs;  ///< The outputs of the call.
  /// Maps the gradients of the outputs (one per output) to the gradients of the inputs (one per
  /// input; undefined for none). Written with ops, so it can be differentiated again.
  std::function<std::vector<Tensor>(const std::vector<Tensor>& output_gradients)> backward;
};
/// TF's tf.custom_gradient: `forward` computes outputs from inputs (its ops are not recorded)
/// and returns them with the function that maps output gradients to input gradients.
///
/// Tapes record the whole call as one op. Returns the outputs. InvalidArgument when `forward`
/// returns no backward function, or `backward` returns a gradient count other than the input
/// count.
LOOM_API std::vector<Tensor> custom_gradient(
    const std::function<CustomGradientResult(const std::vector<Tensor>& inputs)>& forward,
    const std::vector<Tensor>& inputs);

}  // namespace loom
