// GradientTape semantics and every gradient example of the seed, with exact values.
#include <thread>

#include "ops/recording.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

double scalar(const Tensor& t) { return t.item<double>(); }

TEST(SeedTape, GradientOfTwoXTransposeX) {
  const Tensor x = reshape(cast(range(4), DType::Float32), {4, 1});
  GradientTape t;
  t.watch(x);
  const Tensor y = 2.0 * matmul(transpose(x), x);
  const Tensor dy_dx = t.gradient(y, x);
  EXPECT_EQ(dy_dx.shape(), (Shape{4, 1}));
  EXPECT_EQ(dy_dx.to_vector<float>(), (std::vector<float>{0, 4, 8, 12}));
}

TEST(SeedTape, PersistentTapeAnswersManyTimes) {
  const Tensor x = constant(3.0);
  GradientTape g(/*persistent=*/true);
  g.watch(x);
  const Tensor y = x * x;
  const Tensor z = y * y;
  EXPECT_EQ(scalar(g.gradient(z, x)), 108.0);  // 4 x^3 at x = 3
  EXPECT_EQ(scalar(g.gradient(y, x)), 6.0);
  EXPECT_EQ(scalar(g.gradient(z, x)), 108.0);
}

TEST(SeedTape, NonPersistentTapeAnswersOnce) {
  const Tensor x = constant(3.0);
  GradientTape g;
  g.watch(x);
  const Tensor y = x * x;
  EXPECT_EQ(scalar(g.gradient(y, x)), 6.0);
  expect_error<InvalidArgument>([&] { g.gradient(y, x); },
                                "[GradientTape.gradient] a non-persistent tape can only compute gradients once");
}

// The seed's f(a) with host control flow: the gradient equals c / a.
Tensor seed_f(const Tensor& a) {
  Tensor b = a * 2.0;
  while (norm(b).item<float>() < 1000) b = b * 2.0;
  return reduce_sum(b).item<float>() > 0 ? b : 100.0 * b;
}

TEST(SeedTape, GradientThroughHostControlFlow) {
  for (uint64_t seed : {1, 2, 3, 4}) {
    const Tensor a = random_normal({1, 1}, 0, 1, DType::Float32, seed);
    GradientTape t;
    t.watch(a);
    const Tensor c = seed_f(a);
    const Tensor grad = t.gradient(c, a);
    EXPECT_NEAR(grad.item<float>(), (c / a).item<float>(), 1e-3 * std::abs((c / a).item<float>()));
  }
}

TEST(SeedTape, SecondDerivativeWithNestedTapes) {
  for (double xv : {-1.5, 0.5, 2.0}) {
    const Tensor x = constant(xv, DType::Float64);
    GradientTape t2;
    t2.watch(x);
    Tensor dy_dx;
    {
      GradientTape t1;
      t1.watch(x);
      const Tensor y = x * x * x;
      dy_dx = t1.gradient(y, x);
    }
    EXPECT_DOUBLE_EQ(scalar(dy_dx), 3 * xv * xv);
    EXPECT_DOUBLE_EQ(scalar(t2.gradient(dy_dx, x)), 6 * xv);  // d2(x^3)/dx2 = 6x
  }
}

TEST(SeedTape, ThirdDerivative) {
  const Tensor x = constant(2.0, DType::Float64);
  GradientTape t3, t2, t1;
  t3.watch(x);
  t2.watch(x);
  t1.watch(x);
  const Tensor y = pow(x, constant(4.0, DType::Float64));
  const Tensor d1 = t1.gradient(y, x);
  const Tensor d2 = t2.gradient(d1, x);
  EXPECT_DOUBLE_EQ(scalar(t3.gradient(d2, x)), 24 * 2.0);  // d3(x^4)/dx3 = 24x
}

TEST(SeedTape, ResetForgetsWhatCameBefore) {
  const Tensor x = constant(2.0);
  GradientTape t;
  t.watch(x);
  Tensor loss = x * x;  // forgotten by reset
  t.reset();
  t.watch(x);
  loss = loss + x * x * x;  // only this part is differentiated (3x^2 = 12)
  EXPECT_EQ(scalar(t.gradient(loss, x)), 12.0);
}

TEST(SeedTape, StopRecording) {
  Variable x(constant(4.0), "x");
  GradientTape g;
  g.watch(x);
  Tensor y;
  {
    auto pause = g.stop_recording();
    y = x * x;
  }
  const Tensor z = x + y;
  EXPECT_EQ(scalar(g.gradient(z, x)), 1.0);  // grads_1 = 1.0
}

TEST(SeedTape, IdentityCutsTheDependency) {
  Variable s(constant(4.0), "s");
  GradientTape g;
  g.watch(s);
  const Tensor x = identity(s);
  const Tensor y = s * s;
  const Tensor z = x + y;
  EXPECT_EQ(scalar(g.gradient(z, x)), 1.0);  // grads_2 = 1.0
}

TEST(Tape, TrainableVariablesAreWatchedAutomatically) {
  Variable w(constant({1.0, 2.0}), "w");
  Variable frozen(constant({3.0, 4.0}), "frozen", /*trainable=*/false);
  GradientTape t(/*persistent=*/true);
  const Tensor loss = reduce_sum(w * frozen);
  const auto grads = t.gradient(loss, std::vector<Tensor>{w, frozen});
  EXPECT_EQ(grads[0].to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_FALSE(grads[1].defined()) << "non-trainable variables are not watched automatically";
  ASSERT_EQ(t.watched_variables().size(), 1u);
  EXPECT_EQ(t.watched_variables()[0].name(), "w");

  GradientTape manual(false, /*watch_accessed_variables=*/false);
  const Tensor l2 = reduce_sum(w * w);
  EXPECT_FALSE(manual.gradient(l2, w).defined());
}

TEST(Tape, UnconnectedIntegerAndNonScalarTargets) {
  const Tensor x = constant({1.0, 2.0, 3.0});
  const Tensor unrelated = constant({5.0});
  const Tensor ints = constant({1, 2});
  GradientTape t(true);
  t.watch(std::vector<Tensor>{x, unrelated, ints});
  const Tensor y = x * x;  // non-scalar: summed, as TF
  auto g = t.gradient(y, std::vector<Tensor>{x, unrelated, ints});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_FALSE(g[1].defined());
  EXPECT_FALSE(g[2].defined()) << "integer sources get no gradient";
  g = t.gradient(y, std::vector<Tensor>{unrelated}, {}, UnconnectedGradients::Zero);
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{0}));
  g = t.gradient(y, std::vector<Tensor>{x}, {constant({1.0, 0.0, -1.0})});  // output gradients
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{2, 0, -6}));
  expect_error<ShapeError>([&] { t.gradient(y, std::vector<Tensor>{x}, std::vector<Tensor>{constant({1.0})}); },
                           "[GradientTape.gradient] output gradient 0 is (1,) float32, target is (3,) float32");
  // Several targets: gradients add up.
  g = t.gradient(std::vector<Tensor>{y, reduce_sum(x)}, std::vector<Tensor>{x});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{3, 5, 7}));
  const Tensor x1 = x[1];
  EXPECT_EQ(scalar(t.gradient(x1, x1)), 1.0) << "d x / d x = 1";
}

TEST(Tape, DocumentedTieAndKinkRules) {
  const Tensor x = constant({1.0, 3.0, 3.0, -2.0, 0.0});
  GradientTape t(true);
  t.watch(x);
  EXPECT_EQ(t.gradient(reduce_max(x), x).to_vector<float>(), (std::vector<float>{0, 0.5, 0.5, 0, 0}));
  EXPECT_EQ(t.gradient(abs(x), x).to_vector<float>(), (std::vector<float>{1, 1, 1, -1, 0}));
  EXPECT_EQ(t.gradient(relu(x), x).to_vector<float>(), (std::vector<float>{1, 1, 1, 0, 0}));
  const Tensor y = constant({1.0, 2.0, 3.0, -2.0, 0.0});
  t.watch(y);
  const Tensor m = maximum(x, y);
  const auto g = t.gradient(m, std::vector<Tensor>{x, y});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{1, 1, 1, 1, 1})) << "ties go to the first input";
  EXPECT_EQ(g[1].to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 0}));
}

TEST(Tape, GradientsThroughViewsGatherAndSlices) {
  const Tensor x = reshape(cast(range(6), DType::Float32), {2, 3});
  GradientTape t(true);
  t.watch(x);
  const Tensor picked = gather(x, constant({2, 2, 0}), 1);  // repeated index: scatter-add
  EXPECT_EQ(t.gradient(picked, x).to_vector<float>(), (std::vector<float>{1, 0, 2, 1, 0, 2}));
  const Tensor s = x[{Slice(None, None, -1), 1}];
  EXPECT_EQ(t.gradient(s * s, x).to_vector<float>(), (std::vector<float>{0, 2, 0, 0, 8, 0}));
  const auto parts = split(x, 3, 1);
  EXPECT_EQ(t.gradient(parts[2], x).to_vector<float>(), (std::vector<float>{0, 0, 1, 0, 0, 1}));
}

TEST(CustomGradient, UsesTheSuppliedBackwardAndIsDifferentiableAgain) {
  // TF's log1pexp example: the naive gradient overflows at x = 100, the custom one does not.
  auto log1pexp = [](const Tensor& x) {
    return custom_gradient(
        [](const std::vector<Tensor>& in) {
          const Tensor e = exp(in[0]);
          CustomGradientResult r;
          r.outputs = {log(1.0 + e)};
          r.backward = [x = in[0]](const std::vector<Tensor>& dy) {
            return std::vector<Tensor>{dy[0] * (1.0 - 1.0 / (1.0 + exp(x)))};
          };
          return r;
        },
        {x})[0];
  };
  const Tensor x = constant({0.0, 100.0}, DType::Float64);
  GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    GradientTape t;
    t.watch(x);
    g = t.gradient(log1pexp(x), x);
  }
  EXPECT_DOUBLE_EQ(g.to_vector<double>()[0], 0.5);
  EXPECT_DOUBLE_EQ(g.to_vector<double>()[1], 1.0);
  // d/dx (1 - 1/(1+e^x)) = sigmoid'(x) = 0.25 at 0.
  EXPECT_NEAR(outer.gradient(reduce_sum(g), x).to_vector<double>()[0], 0.25, 1e-12);
  expect_error<InvalidArgument>([] {
    GradientTape t;
    const Tensor v = constant(1.0);
    t.watch(v);
    custom_gradient([](const std::vector<Tensor>& in) { return CustomGradientResult{{in[0] * 2.0}, nullptr}; }, {v});
  }, "[custom_gradient] the forward function returned no backward function");
}

// A forward function may return its input unchanged (TF's clip_gradients example): the gradient
// is the custom one only, as in TF, not the custom one plus the input's own path.
TEST(CustomGradient, AForwardThatReturnsItsInputCountsOnlyTheCustomGradient) {
  const Tensor x = constant(1.5, DType::Float64);
  GradientTape t;
  t.watch(x);
  const Tensor y = custom_gradient(
      [](const std::vector<Tensor>& in) {
        return CustomGradientResult{{in[0]}, [](const std::vector<Tensor>& dy) {
                                      return std::vector<Tensor>{clip(dy[0], -1.0, 1.0)};
                                    }};
      },
      {x})[0];
  EXPECT_EQ(y.item<double>(), 1.5);
  EXPECT_EQ(t.gradient(5.0 * y, x).item<double>(), 1.0);
}

TEST(Tape, EachThreadHasItsOwnTapes) {
  std::vector<double> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&results, i] {
      for (int k = 0; k < 20; ++k) {
        const Tensor x = constant(static_cast<double>(i + 1), DType::Float64);
        GradientTape t;
        t.watch(x);
        results[static_cast<size_t>(i)] = t.gradient(x * x * x, x).item<double>();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[static_cast<size_t>(i)], 3.0 * (i + 1) * (i + 1));
  GradientTape mine;
  const Tensor x = constant(1.0);
  std::thread other([&] {
    expect_error<InvalidArgument>([&] { mine.watch(x); }, "[GradientTape.watch] a tape belongs to the thread that created it");
  });
  other.join();
}

TEST(Tape, StopEndsRecordingAndOpsOutsideTapesAreNotRecorded) {
  const Tensor x = constant(2.0);
  EXPECT_FALSE(detail::should_record());
  GradientTape t;
  EXPECT_TRUE(detail::should_record());
  t.watch(x);
  const Tensor y = x * x;
  t.stop();
  EXPECT_FALSE(detail::should_record());
  const Tensor z = y * 3.0;  // after stop(): not recorded
  EXPECT_FALSE(t.gradient(z, x).defined());
}

TEST(TapeMemory, NonPersistentTapeFreesEverythingAfterGradient) {
  Variable w(random_normal({64, 32}, 0, 0.1, DType::Float32, 9), "w");
  Variable b(zeros({32}), "b");
  const Tensor x = random_normal({128, 64}, 0, 1, DType::Float32, 10);
  auto step = [&] {
    GradientTape t;
    const Tensor h = relu(matmul(x, w) + b);
    const Tensor loss = reduce_mean(square(h));
    const auto grads = t.gradient(loss, std::vector<Tensor>{w, b});
    w.assign_sub(grads[0] * 0.1);
    b.assign_sub(grads[1] * 0.1);
  };
  step();  // first step: lazily created state, if any
  const int64_t baseline = memory_stats().live_bytes;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(memory_stats().live_bytes, baseline);
}

}  // namespace
}  // namespace loom::testing
