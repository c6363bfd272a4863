#include "loom/nn/optimizers.hpp"

#include <cmath>

#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"

namespace loom::nn {
namespace {

class Exponential final : public LearningRateSchedule {
 public:
  Exponential(double initial, int64_t steps, double rate, bool staircase)
      : initial_(initial), steps_(steps), rate_(rate), staircase_(staircase) {
    if (steps <= 0) throw InvalidArgument("[ExponentialDecay] decay_steps must be positive");
  }
  Attrs get_config() const override {
    return Attrs{{"schedule", std::string("exponential_decay")}, {"learning_rate", initial_}, {"decay_steps", steps_},
                 {"decay_rate", rate_}, {"staircase", staircase_}};
  }
  double operator()(int64_t step) const override {
    double p = static_cast<double>(step) / static_cast<double>(steps_);
    if (staircase_) p = std::floor(p);
    return initial_ * std::pow(rate_, p);
  }

 private:
  double initial_;
  int64_t steps_;
  double rate_;
  bool staircase_;
};

class Cosine final : public LearningRateSchedule {
 public:
  Cosine(double initial, int64_t steps, double alpha) : initial_(initial), steps_(steps), alpha_(alpha) {
    if (steps <= 0) throw InvalidArgument("[CosineDecay] decay_steps must be positive");
  }
  Attrs get_config() const override {
    return Attrs{{"schedule", std::string("cosine_decay")}, {"learning_rate", initial_}, {"decay_steps", steps_},
                 {"alpha", alpha_}};
  }
  double operator()(int64_t step) const override {
    const double p = std::min<double>(static_cast<double>(step), static_cast<double>(steps_)) / static_cast<double>(steps_);
    const double cosine = 0.5 * (1 + std::cos(M_PI * p));
    return initial_ * ((1 - alpha_) * cosine + alpha_);
  }

 private:
  double initial_;
  int64_t steps_;
  double alpha_;
};

class Steps final : public LearningRateSchedule {
 public:
  Steps(std::vector<int64_t> boundaries, std::vector<double> values) : boundaries_(std::move(boundaries)), values_(std::move(values)) {
    if (values_.size() != boundaries_.size() + 1) {
      throw InvalidArgument("[StepDecay] needs one more value than boundaries, got " + std::to_string(values_.size()) +
                            " values for " + std::to_string(boundaries_.size()) + " boundaries");
    }
  }
  Attrs get_config() const override {
    return Attrs{{"schedule", std::string("step_decay")}, {"boundaries", boundaries_}, {"values", values_}};
  }
  double operator()(int64_t step) const override {
    size_t i = 0;
    while (i < boundaries_.size() && step >= boundaries_[i]) ++i;
    return values_[i];
  }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

class SGDOptimizer final : public Optimizer {
 public:
  SGDOptimizer(double momentum, bool nesterov, OptimizerOptions o) : Optimizer(o), momentum_(momentum), nesterov_(nesterov) {
    if (momentum < 0 || momentum > 1) throw InvalidArgument("[SGD] momentum must be in [0, 1]");
  }
  std::string name() const override { return "SGD"; }
  Attrs get_config() const override {
    Attrs c = Optimizer::get_config();
    c.set("momentum", momentum_);
    c.set("nesterov", nesterov_);
    return c;
  }

 protected:
  // Keras: v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g).
  void update(Updates& updates, const Variable& w, const Tensor& g, double lr) override {
    if (momentum_ == 0) {
      updates.assign(w, w - g * lr);
      return;
    }
    const Variable& v = slot(w, "momentum");
    const Tensor v_new = v * momentum_ - g * lr;
    updates.assign(v, v_new);
    updates.assign(w, w + (nesterov_ ? v_new * momentum_ - g * lr : v_new));
  }

 private:
  double momentum_;
  bool nesterov_;
};

class AdamOptimizer final : public Optimizer {
 public:
  AdamOptimizer(double b1, double b2, double eps, double wd, OptimizerOptions o)
      : Optimizer(o), b1_(b1), b2_(b2), eps_(eps), weight_decay_(wd) {}
  std::string name() const override { return weight_decay_ > 0 ? "AdamW" : "Adam"; }
  Attrs get_config() const override {
    Attrs c = Optimizer::get_config();
    c.set("beta_1", b1_);
    c.set("beta_2", b2_);
    c.set("epsilon", eps_);
    if (weight_decay_ > 0) c.set("weight_decay", weight_decay_);
    return c;
  }

 protected:
  // Keras: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  // w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps); AdamW first decays w by lr * wd.
  // One fused op (adam_update) per variable.
  void update(Updates& updates, const Variable& w, const Tensor& g, double lr) override {
    const Variable& m = slot(w, "m");
    const Variable& v = slot(w, "v");
    const double t = static_cast<double>(iterations_ + 1);
    const double alpha = lr * std::sqrt(1 - std::pow(b2_, t)) / (1 - std::pow(b1_, t));
    const Attrs attrs{{"alpha", alpha}, {"beta_1", b1_}, {"beta_2", b2_}, {"epsilon", eps_}, {"decay", lr * weight_decay_}};
    const std::vector<Tensor> next = call_op("adam_update", {w, m, v, g}, attrs);
    updates.assign(w, next[0]);
    updates.assign(m, next[1]);
    updates.assign(v, next[2]);
  }

 private:
  double b1_, b2_, eps_, weight_decay_;
};

class RMSpropOptimizer final : public Optimizer {
 public:
  RMSpropOptimizer(double rho, double momentum, double eps, bool centered, OptimizerOptions o)
      : Optimizer(o), rho_(rho), momentum_(momentum), eps_(eps), centered_(centered) {}
  std::string name() const override { return "RMSprop"; }
  Attrs get_config() const override {
    Attrs c = Optimizer::get_config();
    c.set("rho", rho_);
    c.set("momentum", momentum_);
    c.set("epsilon", eps_);
    c.set("centered", centered_);
    return c;
  }

 protected:
  // Keras: ms = rho ms + (1 - rho) g^2; denom = ms (- mg^2 when centered);
  // step = lr g / sqrt(denom + eps); with momentum: mom = momentum mom + step; w -= mom.
  void update(Updates& updates, const Variable& w, const Tensor& g, double lr) override {
    const Variable& ms = slot(w, "rms");
    const Tensor ms_new = ms + (square(g) - ms) * (1 - rho_);
    updates.assign(ms, ms_new);
    Tensor denom = ms_new;
    if (centered_) {
      const Variable& mg = slot(w, "mg");
      const Tensor mg_new = mg + (g - mg) * (1 - rho_);
      updates.assign(mg, mg_new);
      denom = denom - square(mg_new);
    }
    const Tensor step = g * lr / sqrt(denom + eps_);
    if (momentum_ > 0) {
      const Variable& mom = slot(w, "momentum");
      const Tensor mom_new = mom * momentum_ + step;
      updates.assign(mom, mom_new);
      updates.assign(w, w - mom_new);
    } else {
      updates.assign(w, w - step);
    }
  }

 private:
  double rho_, momentum_, eps_;
  bool centered_;
};

OptimizerOptions with_rate(OptimizerOptions o, double lr) {
  o.learning_rate = lr;
  return o;
}

}  // namespace

LearningRateSchedule::~LearningRateSchedule() = default;
SchedulePtr ExponentialDecay(double initial, int64_t decay_steps, double decay_rate, bool staircase) {
  return std::make_shared<Exponential>(initial, decay_steps, decay_rate, staircase);
}
SchedulePtr CosineDecay(double initial, int64_t decay_steps, double alpha) {
  return std::make_shared<Cosine>(initial, decay_steps, alpha);
}
SchedulePtr StepDecay(std::vector<int64_t> boundaries, std::vector<double> values) {
  return std::make_shared<Steps>(std::move(boundaries), std::move(values));
}

Optimizer::Optimizer(OptimizerOptions options) : options_(std::move(options)) {
  if (!options_.schedule && !(options_.learning_rate > 0)) {
    throw InvalidArgument("[Optimizer] learning_rate must be positive, got " + std::to_string(options_.learning_rate));
  }
  set_loss_scaling(options_.loss_scale, options_.dynamic_loss_scale, options_.dynamic_growth_steps);
}

void Optimizer::set_loss_scaling(double initial_scale, bool dynamic, int64_t dynamic_growth_steps) {
  if (!(initial_scale >= 0) || dynamic_growth_steps < 1) {
    throw InvalidArgument("[Optimizer.set_loss_scaling] needs a scale >= 0 (0: none) and growth steps >= 1, got " +
                          std::to_string(initial_scale) + " and " + std::to_string(dynamic_growth_steps));
  }
  options_.loss_scale = initial_scale;
  options_.dynamic_loss_scale = dynamic;
  options_.dynamic_growth_steps = dynamic_growth_steps;
  loss_scale_ = initial_scale > 0 ? initial_scale : 1.0;
  good_steps_ = 0;
}

bool Optimizer::unscale(std::vector<Tensor>& grads) const {
  bool finite = true;
  for (Tensor& g : grads) {
    if (!g.defined()) continue;
    g = g * (1.0 / loss_scale_);
    if (finite && g.numel() > 0) finite = std::isfinite(reduce_max(abs(g)).item<double>());
  }
  return finite;
}

// Dynamic scaling as Keras: halve on overflow (not below 1), double after enough finite steps.
void Optimizer::adjust_loss_scale(bool finite) {
  if (!options_.dynamic_loss_scale) return;
  if (!finite) {
    loss_scale_ = std::max(1.0, loss_scale_ / 2);
    good_steps_ = 0;
  } else if (++good_steps_ >= options_.dynamic_growth_steps) {
    loss_scale_ *= 2;
    good_steps_ = 0;
  }
}
Optimizer::~Optimizer() = default;

Attrs Optimizer::get_config() const {
  Attrs c = options_.schedule ? options_.schedule->get_config() : Attrs{};
  if (c.empty()) c.set("learning_rate", current_learning_rate());  // a custom schedule: its current rate
  if (options_.clipnorm > 0) c.set("clipnorm", options_.clipnorm);
  if (options_.clipvalue > 0) c.set("clipvalue", options_.clipvalue);
  if (options_.global_clipnorm > 0) c.set("global_clipnorm", options_.global_clipnorm);
  if (options_.loss_scale > 0) {
    c.set("loss_scale", loss_scale_);
    c.set("dynamic_loss_scale", options_.dynamic_loss_scale);
    c.set("dynamic_growth_steps", options_.dynamic_growth_steps);
  }
  return c;
}

void Optimizer::set_learning_rate(double learning_rate) {
  if (!(learning_rate > 0)) {
    throw InvalidArgument("[" + name() + ".set_learning_rate] the learning rate must be positive, got " +
                          std::to_string(learning_rate));
  }
  options_.learning_rate = learning_rate;
  options_.schedule = nullptr;
}

double Optimizer::current_learning_rate() const {
  return options_.schedule ? (*options_.schedule)(iterations_) : options_.learning_rate;
}

Variable& Optimizer::slot(const Variable& var, const std::string& slot_name) {
  Slots& slots = slots_[var.id()];
  slots.variable = var;
  auto it = slots.by_name.find(slot_name);
  if (it == slots.by_name.end()) {
    it = slots.by_name.emplace(slot_name, Variable(zeros_like(var), var.name() + "/" + slot_name, false)).first;
  }
  return it->second;
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads_in, const std::vector<Variable>& vars) {
  if (grads_in.size() != vars.size()) {
    throw InvalidArgument("[" + name() + ".apply_gradients] got " + std::to_string(grads_in.size()) + " gradients for " +
                          std::to_string(vars.size()) + " variables");
  }
  NoGradGuard no_grad;  // updates are not differentiable
  std::vector<Tensor> grads = grads_in;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (grads[i].shape() != vars[i].shape()) {
      throw ShapeError("[" + name() + ".apply_gradients] gradient " + std::to_string(i) + " has shape " +
                       grads[i].shape().str() + ", variable '" + vars[i].name() + "' is " + vars[i].shape().str());
    }
    if (grads[i].dtype() != vars[i].dtype()) grads[i] = cast(grads[i], vars[i].dtype());
  }
  if (options_.loss_scale > 0 && !unscale(grads)) {
    adjust_loss_scale(false);  // overflow: the step is skipped
    return;
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (options_.clipvalue > 0) grads[i] = clip(grads[i], -options_.clipvalue, options_.clipvalue);
    if (options_.clipnorm > 0) {
      const double n = norm(grads[i]).item<double>();
      if (n > options_.clipnorm) grads[i] = grads[i] * (options_.clipnorm / n);
    }
  }
  if (options_.global_clipnorm > 0) {
    double total = 0;
    for (const Tensor& g : grads) {
      if (g.defined()) total += reduce_sum(square(cast(g, DType::Float64))).item<double>();
    }
    const double n = std::sqrt(total);
    if (n > options_.global_clipnorm) {
      for (Tensor& g : grads) {
        if (g.defined()) g = g * (options_.global_clipnorm / n);
      }
    }
  }
  const double lr = current_learning_rate();
  Updates updates;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined()) update(updates, vars[i], grads[i], lr);
  }
  // Commit: plain copies into the existing storage (same shape and dtype), which allocate nothing.
  for (const auto& [target, value] : updates.items_) Variable(target).assign(value);
  ++iterations_;
  if (options_.loss_scale > 0) adjust_loss_scale(true);
}

void Optimizer::Updates::assign(const Variable& target, const Tensor& value) {
  if (value.shape() != target.shape()) {
    throw ShapeError("[Optimizer.update] the new value of '" + target.name() + "' has shape " + value.shape().str() +
                     ", the variable is " + target.shape().str());
  }
  items_.emplace_back(target, value.dtype() == target.dtype() ? value : cast(value, target.dtype()));
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  for (const auto& [id, slots] : slots_) {
    for (const auto& [slot_name, v] : slots.by_name) {
      const std::string key = slots.variable.name() + "/" + slot_name;
      if (out.count(key)) {
        throw InvalidArgument("[" + name() + ".state] two variables share the name '" + slots.variable.name() +
                              "'; give variables unique names to save optimizer state");
      }
      out[key] = v.read_value();
    }
  }
  out["iterations"] = constant(iterations_);
  if (options_.loss_scale > 0) {
    out["loss_scale"] = constant(loss_scale_);
    out["loss_scale_good_steps"] = constant(good_steps_);
  }
  return out;
}

void Optimizer::set_state(const std::map<std::string, Tensor>& state, const std::vector<Variable>& vars) {
  std::map<std::string, Variable> by_name;
  for (const Variable& v : vars) by_name[v.name()] = v;
  for (const auto& [key, value] : state) {
    if (key == "iterations") {
      iterations_ = value.item<int64_t>();
      continue;
    }
    if (key == "loss_scale" || key == "loss_scale_good_steps") {
      if (options_.loss_scale <= 0) {
        throw NotFoundError("[" + name() + ".set_state] the state has a loss scale, this optimizer does not scale losses");
      }
      if (key == "loss_scale") loss_scale_ = value.item<double>();
      else good_steps_ = value.item<int64_t>();
      continue;
    }
    const auto slash = key.rfind('/');
    auto it = slash == std::string::npos ? by_name.end() : by_name.find(key.substr(0, slash));
    if (it == by_name.end()) {
      throw NotFoundError("[" + name() + ".set_state] optimizer state '" + key + "' matches no variable");
    }
    Variable& s = slot(it->second, key.substr(slash + 1));
    if (s.shape() != value.shape()) {
      throw ShapeError("[" + name() + ".set_state] state '" + key + "' has shape " + value.shape().str() +
                       ", the variable is " + s.shape().str());
    }
    s.assign(value.dtype() == s.dtype() ? value : cast(value, s.dtype()));
  }
}

OptimizerPtr LossScaleOptimizer(OptimizerPtr inner, double initial_scale, bool dynamic, int64_t dynamic_growth_steps) {
  if (!inner) throw InvalidArgument("[LossScaleOptimizer] the inner optimizer is null");
  if (!(initial_scale > 0)) {
    throw InvalidArgument("[LossScaleOptimizer] the initial scale must be positive, got " + std::to_string(initial_scale));
  }
  inner->set_loss_scaling(initial_scale, dynamic, dynamic_growth_steps);
  return inner;
}

OptimizerPtr SGD(double lr, double momentum, bool nesterov, OptimizerOptions o) {
  return std::make_shared<SGDOptimizer>(momentum, nesterov, with_rate(o, lr));
}
OptimizerPtr Adam(double lr, double b1, double b2, double eps, OptimizerOptions o) {
  return std::make_shared<AdamOptimizer>(b1, b2, eps, 0.0, with_rate(o, lr));
}
OptimizerPtr AdamW(double lr, double wd, double b1, double b2, double eps, OptimizerOptions o) {
  return std::make_shared<AdamOptimizer>(b1, b2, eps, wd, with_rate(o, lr));
}
OptimizerPtr RMSprop(double lr, double rho, double momentum, double eps, bool centered, OptimizerOptions o) {
  return std::make_shared<RMSpropOptimizer>(rho, momentum, eps, centered, with_rate(o, lr));
}

OptimizerPtr get_optimizer(const std::string& name, std::optional<double> lr) {
  if (name == "sgd") return SGD(lr.value_or(0.01));
  if (name == "adam") return Adam(lr.value_or(0.001));
  if (name == "adamw") return AdamW(lr.value_or(0.001));
  if (name == "rmsprop") return RMSprop(lr.value_or(0.001));
  throw InvalidArgument("[get_optimizer] unknown optimizer '" + name + "' (sgd, adam, adamw, rmsprop)");
}

}  // namespace loom::nn
