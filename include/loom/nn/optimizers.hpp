#pragma once
// Keras optimizers and learning-rate schedules. apply_gradients works in custom loops too.
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

namespace loom::nn {

class LOOM_API LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule();
  virtual double operator()(int64_t step) const = 0;
};
using SchedulePtr = std::shared_ptr<const LearningRateSchedule>;
// initial * rate^(step / decay_steps) (floored exponent with staircase).
LOOM_API SchedulePtr ExponentialDecay(double initial, int64_t decay_steps, double decay_rate, bool staircase = false);
// Cosine from initial down to initial * alpha over decay_steps, then constant.
LOOM_API SchedulePtr CosineDecay(double initial, int64_t decay_steps, double alpha = 0.0);
// values[i] while step < boundaries[i] (piecewise constant; values has one more entry).
LOOM_API SchedulePtr StepDecay(std::vector<int64_t> boundaries, std::vector<double> values);

struct OptimizerOptions {
  double learning_rate = 0.01;
  SchedulePtr schedule = nullptr;  // overrides learning_rate when set
  double clipnorm = 0;             // per-gradient L2 norm limit (0: none)
  double clipvalue = 0;            // elementwise limit (0: none)
  double global_clipnorm = 0;      // limit on the norm of all gradients together
};

class LOOM_API Optimizer {
 public:
  explicit Optimizer(OptimizerOptions options);
  virtual ~Optimizer();
  // One update of each variable with its gradient (undefined gradients are skipped). All new
  // values are computed first and then assigned together, so a failure (out of memory, a bad
  // gradient) leaves every variable and slot as it was.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  int64_t iterations() const { return iterations_; }
  double current_learning_rate() const;
  virtual std::string name() const = 0;

  // Slot variables (momentum, moments) by "<variable name>/<slot>", and the step count, for
  // checkpoints. set_state matches slots to `vars` by name.
  std::map<std::string, Tensor> state() const;
  void set_state(const std::map<std::string, Tensor>& state, const std::vector<Variable>& vars);

 protected:
  // The new values of one step, assigned by apply_gradients once all are computed.
  class LOOM_API Updates {
   public:
    void assign(const Variable& target, const Tensor& value);

   private:
    friend class Optimizer;
    std::vector<std::pair<Variable, Tensor>> items_;
  };
  // Computes the new values of `var` and of its slots into `updates` (without assigning).
  virtual void update(Updates& updates, const Variable& var, const Tensor& grad, double lr) = 0;
  // The slot tensor of a variable, created as zeros on first use.
  Variable& slot(const Variable& var, const std::string& slot_name);
  int64_t iterations_ = 0;

 private:
  struct Slots {
    Variable variable;
    std::map<std::string, Variable> by_name;
  };
  OptimizerOptions options_;
  std::map<uint64_t, Slots> slots_;  // by variable id
};
using OptimizerPtr = std::shared_ptr<Optimizer>;

LOOM_API OptimizerPtr SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false,
                          OptimizerOptions options = {});
LOOM_API OptimizerPtr Adam(double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999,
                           double epsilon = 1e-7, OptimizerOptions options = {});
LOOM_API OptimizerPtr AdamW(double learning_rate = 0.001, double weight_decay = 0.004, double beta_1 = 0.9,
                            double beta_2 = 0.999, double epsilon = 1e-7, OptimizerOptions options = {});
LOOM_API OptimizerPtr RMSprop(double learning_rate = 0.001, double rho = 0.9, double momentum = 0.0,
                              double epsilon = 1e-7, bool centered = false, OptimizerOptions options = {});
// "sgd", "adam", "adamw", "rmsprop" with default arguments (learning rate when given).
LOOM_API OptimizerPtr get_optimizer(const std::string& name, std::optional<double> learning_rate = {});

}  // namespace loom::nn
