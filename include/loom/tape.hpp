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

// What gradient() returns for a source the target does not depend on.
enum class UnconnectedGradients { None, Zero };

class LOOM_API GradientTape {
 public:
  // Active from construction until stop() or destruction. Tapes nest; each thread has its own.
  explicit GradientTape(bool persistent = false, bool watch_accessed_variables = true);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  void watch(const Tensor& tensor);
  void watch(const std::vector<Tensor>& tensors);

  // d(sum of target)/d(source) for each source (a non-scalar target is summed, as TF), or
  // d(sum_i output_gradients[i] * targets[i]) when output gradients are given. Integer and bool
  // sources, and unconnected ones with UnconnectedGradients::None, give an undefined Tensor.
  // A non-persistent tape answers once and then frees what it recorded.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                               const std::vector<Tensor>& output_gradients = {},
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets,
                               const std::vector<Tensor>& sources,
                               const std::vector<Tensor>& output_gradients = {},
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  Tensor gradient(const Tensor& target, const Tensor& source,
                  UnconnectedGradients unconnected = UnconnectedGradients::None);

  // Ops run while the returned object lives are not recorded on this tape.
  class LOOM_API RecordingStop {
   public:
    explicit RecordingStop(std::shared_ptr<detail::TapeImpl> tape);
    ~RecordingStop();
    RecordingStop(const RecordingStop&) = delete;
    RecordingStop& operator=(const RecordingStop&) = delete;

   private:
    std::shared_ptr<detail::TapeImpl> tape_;
  };
  [[nodiscard]] RecordingStop stop_recording();

  // Forgets everything recorded and watched so far (the tape stays active).
  void reset();
  // Ends recording (as leaving TF's `with` block); gradient() still works afterwards.
  void stop();
  bool persistent() const;
  // Variables this tape watched, explicitly or by auto-watch, in first-watch order.
  std::vector<Variable> watched_variables() const;

 private:
  std::shared_ptr<detail::TapeImpl> impl_;
};

// TF's tf.custom_gradient: `forward` computes outputs from inputs (its ops are not recorded)
// and returns them with the function that maps output gradients to input gradients. Tapes record
// the whole call as one op; `backward` is written with ops, so it can be differentiated again.
struct CustomGradientResult {
  std::vector<Tensor> outputs;
  std::function<std::vector<Tensor>(const std::vector<Tensor>& output_gradients)> backward;
};
LOOM_API std::vector<Tensor> custom_gradient(
    const std::function<CustomGradientResult(const std::vector<Tensor>& inputs)>& forward,
    const std::vector<Tensor>& inputs);

}  // namespace loom
