// Optimizers against the Keras update rules, computed by hand for two steps; schedules; clipping;
// state round trips.
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

// Two steps of an optimizer on w (start 1.0) with gradients g1, g2; returns w after each.
std::pair<double, double> two_steps(const OptimizerPtr& opt, double g1, double g2) {
  Variable w(constant(1.0, DType::Float64), "w");
  opt->apply_gradients({constant(g1, DType::Float64)}, {w});
  const double first = w.item<double>();
  opt->apply_gradients({constant(g2, DType::Float64)}, {w});
  return {first, w.item<double>()};
}

TEST(Optimizers, SGDPlainMomentumAndNesterov) {
  auto [a1, a2] = two_steps(SGD(0.1), 2.0, -1.0);
  EXPECT_DOUBLE_EQ(a1, 1 - 0.2);
  EXPECT_DOUBLE_EQ(a2, 0.8 + 0.1);
  // v1 = -0.2, w1 = 0.8; v2 = 0.9 * -0.2 + 0.1 = -0.08, w2 = 0.72.
  auto [m1, m2] = two_steps(SGD(0.1, 0.9), 2.0, -1.0);
  EXPECT_NEAR(m1, 0.8, 1e-15);
  EXPECT_NEAR(m2, 0.72, 1e-15);
  // Nesterov: w += momentum * v - lr * g: w1 = 1 + 0.9 * -0.2 - 0.2 = 0.62; v2 = -0.08,
  // w2 = 0.62 + 0.9 * -0.08 + 0.1 = 0.648.
  auto [n1, n2] = two_steps(SGD(0.1, 0.9, true), 2.0, -1.0);
  EXPECT_NEAR(n1, 0.62, 1e-15);
  EXPECT_NEAR(n2, 0.648, 1e-15);
}

TEST(Optimizers, AdamAndAdamW) {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  double m = 0, v = 0, w = 1;
  std::vector<double> expected;
  for (auto [t, g] : std::vector<std::pair<int, double>>{{1, 2.0}, {2, -1.0}}) {
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    w -= lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t)) * m / (std::sqrt(v) + eps);
    expected.push_back(w);
  }
  auto [a1, a2] = two_steps(Adam(lr), 2.0, -1.0);
  EXPECT_NEAR(a1, expected[0], 1e-12);
  EXPECT_NEAR(a2, expected[1], 1e-12);
  // AdamW decays the weight first: w <- w - lr * wd * w.
  auto [d1, d2] = two_steps(AdamW(lr, 0.5), 2.0, -1.0);
  const double w1 = 1 - lr * 0.5 * 1 - (1 - expected[0]);
  EXPECT_NEAR(d1, w1, 1e-12);
  EXPECT_LT(d2, a2);
}

TEST(Optimizers, RMSprop) {
  const double lr = 0.01, rho = 0.9, eps = 1e-7;
  double ms = 0, w = 1;
  for (double g : {2.0, -1.0}) {
    ms = rho * ms + (1 - rho) * g * g;
    w -= lr * g / std::sqrt(ms + eps);
  }
  EXPECT_NEAR(two_steps(RMSprop(lr), 2.0, -1.0).second, w, 1e-12);
  EXPECT_NE(two_steps(RMSprop(lr, rho, 0.5, eps, true), 2.0, -1.0).second, w);
}

TEST(Optimizers, SchedulesAndClipping) {
  EXPECT_DOUBLE_EQ((*ExponentialDecay(0.1, 10, 0.5))(20), 0.025);
  EXPECT_DOUBLE_EQ((*ExponentialDecay(0.1, 10, 0.5, true))(15), 0.05);
  EXPECT_NEAR((*CosineDecay(1.0, 100))(50), 0.5, 1e-12);
  EXPECT_NEAR((*CosineDecay(1.0, 100, 0.1))(200), 0.1, 1e-12);
  EXPECT_EQ((*StepDecay({10, 20}, {1.0, 0.5, 0.1}))(15), 0.5);
  OptimizerOptions o;
  o.schedule = StepDecay({1}, {0.1, 0.01});
  auto [s1, s2] = two_steps(SGD(0.1, 0, false, o), 1.0, 1.0);
  EXPECT_NEAR(s1, 0.9, 1e-15);
  EXPECT_NEAR(s2, 0.89, 1e-15);
  OptimizerOptions clip;
  clip.clipvalue = 0.5;
  EXPECT_NEAR(two_steps(SGD(1.0, 0, false, clip), 3.0, -3.0).first, 0.5, 1e-15);
  OptimizerOptions by_norm;
  by_norm.global_clipnorm = 1.0;
  Variable a(constant({3.0, 0.0}, DType::Float64), "a"), b(constant({4.0}, DType::Float64), "b");
  SGD(1.0, 0, false, by_norm)->apply_gradients({constant({3.0, 0.0}, DType::Float64), constant({4.0}, DType::Float64)}, {a, b});
  EXPECT_NEAR(a.to_vector<double>()[0], 3 - 0.6, 1e-12);  // gradients scaled by 1/5
  EXPECT_NEAR(b.to_vector<double>()[0], 4 - 0.8, 1e-12);
  expect_error<InvalidArgument>([] { StepDecay({1, 2}, {1.0}); }, "[StepDecay] needs one more value");
  expect_error<InvalidArgument>([] { SGD(0.0); }, "learning_rate must be positive");
  expect_error<InvalidArgument>([&] { SGD(0.1)->apply_gradients({constant(1.0)}, {}); }, "got 1 gradients for 0 variables");
}

TEST(Optimizers, StateRoundTripsAndCustomLoops) {
  Variable w(constant({1.0, 2.0}), "layer/w");
  auto opt = Adam(0.1);
  for (int i = 0; i < 3; ++i) {
    GradientTape tape;
    const Tensor loss = reduce_sum(square(w));
    opt->apply_gradients(tape.gradient(loss, std::vector<Tensor>{w}), {w});
  }
  EXPECT_EQ(opt->iterations(), 3);
  const auto state = opt->state();
  EXPECT_TRUE(state.count("layer/w/m") && state.count("layer/w/v") && state.count("iterations"));
  Variable w2(w.read_value(), "layer/w");
  auto restored = Adam(0.1);
  restored->set_state(state, {w2});
  EXPECT_EQ(restored->iterations(), 3);
  opt->apply_gradients({constant({1.0, 1.0})}, {w});
  restored->apply_gradients({constant({1.0, 1.0})}, {w2});
  EXPECT_EQ(w.to_vector<float>(), w2.to_vector<float>()) << "restored state continues identically";
  expect_error<NotFoundError>([&] { Adam()->set_state({{"nope/m", zeros({2})}}, {w2}); }, "matches no variable");
}

}  // namespace
}  // namespace loom::testing
