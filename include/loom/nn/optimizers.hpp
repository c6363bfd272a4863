#pragma once
// Keras optimizers and learning-rate schedules. apply_gradients works in custom loops too.
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/export.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

namespace loom::nn {

/// A learning rate as a function of the optimizer's step (Keras' LearningRateSchedule).
class LOOM_API LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule();
  /// The learning rate at step `step` (0 for the first update).
  virtual double operator()(int64_t step) const = 0;
  /// Its arguments for optimizer_from_config ("schedule" names the kind: "exponential_decay",
  /// "cosine_decay", "step_decay"); empty for schedules other than the built-in ones.
  virtual Attrs get_config() const { return {}; }
};
/// Schedules are shared, immutable objects.
using SchedulePtr = std::shared_ptr<const LearningRateSchedule>;
/// initial * rate^(step / decay_steps) (floored exponent with staircase); InvalidArgument for
/// decay_steps <= 0.
LOOM_API SchedulePtr ExponentialDecay(double initial, int64_t decay_steps, double decay_rate, bool staircase = false);
/// Cosine from initial down to initial * alpha over decay_steps, then constant; InvalidArgument
/// for decay_steps <= 0.
LOOM_API SchedulePtr CosineDecay(double initial, int64_t decay_steps, double alpha = 0.0);
/// values[i] while step < boundaries[i], then the last value (piecewise constant); values needs
/// one more entry than boundaries (InvalidArgument otherwise).
LOOM_API SchedulePtr StepDecay(std::vector<int64_t> boundaries, std::vector<double> values);

/// Options every optimizer takes (Keras' common optimizer arguments).
struct OptimizerOptions {
  double learning_rate = 0.01;     ///< Step size; must be > 0 unless a schedule is set.
  SchedulePtr schedule = nullptr;  ///< Overrides learning_rate when set.
  double clipnorm = 0;             ///< Per-gradient L2 norm limit (0: none).
  double clipvalue = 0;            ///< Elementwise limit on gradients (0: none).
  double global_clipnorm = 0;      ///< Limit on the norm of all gradients together (0: none).
  /// Loss scaling for float16 training: 0 for none, else the initial scale. The training step
  /// multiplies the loss by loss_scale() and apply_gradients divides the gradients by it.
  double loss_scale = 0;
  /// With loss_scale: a step whose gradients hold inf or NaN is skipped (no variable changes)
  /// and halves the scale; dynamic_growth_steps finite steps in a row double it.
  bool dynamic_loss_scale = true;
  int64_t dynamic_growth_steps = 2000;  ///< Finite steps before the dynamic scale doubles.
};

/// Base of the optimizers (Keras' keras.optimizers.Optimizer); works in custom training loops
/// too. Subclasses implement update().
class LOOM_API Optimizer {
 public:
  /// InvalidArgument for a learning rate <= 0 without a schedule.
  explicit Optimizer(OptimizerOptions options);
  virtual ~Optimizer();
  /// One update of each variable with its gradient (undefined gradients are skipped). All new
  /// values are computed first and then assigned together, so a failure (out of memory, a bad
  /// gradient) leaves every variable and slot as it was. InvalidArgument when the counts
  /// differ, ShapeError when a gradient's shape is not its variable's. With loss scaling the
  /// gradients are divided by loss_scale() first, and a step with inf or NaN in them is
  /// skipped (see OptimizerOptions::loss_scale).
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  /// Number of updates applied so far (the schedule's step; skipped steps do not count).
  int64_t iterations() const { return iterations_; }
  /// The factor losses are multiplied by before differentiation: 1 without loss scaling.
  double loss_scale() const { return loss_scale_; }
  /// Whether loss scaling is on.
  bool scales_losses() const { return options_.loss_scale > 0; }
  /// Turns loss scaling on (or off with `initial_scale` 0); see OptimizerOptions::loss_scale.
  /// InvalidArgument for a negative scale or growth steps < 1.
  void set_loss_scaling(double initial_scale, bool dynamic = true, int64_t dynamic_growth_steps = 2000);
  /// The learning rate the next update uses.
  double current_learning_rate() const;
  /// "SGD", "Adam", "AdamW" or "RMSprop" for the built-in ones.
  virtual std::string name() const = 0;
  /// The arguments optimizer_from_config() rebuilds it from (learning_rate or the schedule's
  /// arguments, clipping, and the optimizer's own), as model files store them.
  virtual Attrs get_config() const;
  /// Sets a constant learning rate from the next update on, replacing any schedule (Keras:
  /// `optimizer.learning_rate = value`, as callbacks do); InvalidArgument unless positive.
  void set_learning_rate(double learning_rate);

  /// Slot variables (momentum, moments) by `variable_name/slot`, the step count
  /// ("iterations") and, with loss scaling, the scale and its count of finite steps
  /// ("loss_scale", "loss_scale_good_steps"), for checkpoints. InvalidArgument when two
  /// variables share a name.
  std::map<std::string, Tensor> state() const;
  /// Restores what state() returned, matching slots to `vars` by name; NotFoundError for a slot
  /// that matches no variable, ShapeError for a slot of another shape.
  void set_state(const std::map<std::string, Tensor>& state, const std::vector<Variable>& vars);

 protected:
  /// The new values of one step, assigned by apply_gradients once all are computed.
  class LOOM_API Updates {
   public:
    /// Queues `value` for `target` (cast to its dtype); ShapeError for another shape.
    void assign(const Variable& target, const Tensor& value);

   private:
    friend class Optimizer;
    std::vector<std::pair<Variable, Tensor>> items_;
  };
  /// Computes the new values of `var` and of its slots into `updates` (without assigning).
  virtual void update(Updates& updates, const Variable& var, const Tensor& grad, double lr) = 0;
  /// The slot tensor of a variable, created as zeros on first use.
  Variable& slot(const Variable& var, const std::string& slot_name);
  int64_t iterations_ = 0;  ///< Completed steps; apply_gradients increments it.

 private:
  struct Slots {
    Variable variable;
    std::map<std::string, Variable> by_name;
  };
  // Divides the gradients by the loss scale; false when one holds inf or NaN.
  bool unscale(std::vector<Tensor>& grads) const;
  void adjust_loss_scale(bool finite);
  OptimizerOptions options_;
  std::map<uint64_t, Slots> slots_;  // by variable id
  double loss_scale_ = 1;
  int64_t good_steps_ = 0;  // finite steps since the scale last changed
};
/// Optimizers are shared by pointer (a Model holds its optimizer).
using OptimizerPtr = std::shared_ptr<Optimizer>;

/// Stochastic gradient descent with optional (Nesterov) momentum, as Keras. `learning_rate`
/// replaces options.learning_rate; InvalidArgument for a momentum outside [0, 1].
LOOM_API OptimizerPtr SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false,
                          OptimizerOptions options = {});
/// Adam, as Keras. `learning_rate` replaces options.learning_rate.
LOOM_API OptimizerPtr Adam(double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999,
                           double epsilon = 1e-7, OptimizerOptions options = {});
/// Adam with decoupled weight decay: each step first scales the weights by
/// 1 - learning_rate * weight_decay.
LOOM_API OptimizerPtr AdamW(double learning_rate = 0.001, double weight_decay = 0.004, double beta_1 = 0.9,
                            double beta_2 = 0.999, double epsilon = 1e-7, OptimizerOptions options = {});
/// RMSprop with optional momentum and centering, as Keras.
LOOM_API OptimizerPtr RMSprop(double learning_rate = 0.001, double rho = 0.9, double momentum = 0.0,
                              double epsilon = 1e-7, bool centered = false, OptimizerOptions options = {});
/// Keras' LossScaleOptimizer: `inner` with loss scaling turned on (the same object, returned),
/// for float16 training. compile() does this by itself for models under "mixed_float16".
LOOM_API OptimizerPtr LossScaleOptimizer(OptimizerPtr inner, double initial_scale = 32768, bool dynamic = true,
                                         int64_t dynamic_growth_steps = 2000);
/// "sgd", "adam", "adamw", "rmsprop" with default arguments (learning rate when given);
/// InvalidArgument for another name.
LOOM_API OptimizerPtr get_optimizer(const std::string& name, std::optional<double> learning_rate = {});

}  // namespace loom::nn
