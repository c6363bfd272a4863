// The tape's gradient-ready hook, what gradient buckets launch their all-reduces on: each
// source's gradient is handed over once no recorded op before it can add to it.
#include <map>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(GradientReadyHook, HandsEachGradientOverOnceItIsFinalLastLayerFirst) {
  Variable w1(fill(Shape{4, 4}, 0.1), "w1"), w2(fill(Shape{4, 4}, 0.2), "w2"), w3(fill(Shape{4, 2}, 0.3), "w3");
  const Tensor x = ones(Shape{3, 4});
  std::vector<std::string> log;
  // The first op of the forward pass, whose backward logs when the backward pass reaches it.
  auto early = [&log](const Tensor& t) {
    return custom_gradient(
        [&log](const std::vector<Tensor>& in) {
          CustomGradientResult r;
          r.outputs = {in[0] * 1.0};
          r.backward = [&log](const std::vector<Tensor>& g) {
            log.push_back("early op");
            return std::vector<Tensor>{g[0]};
          };
          return r;
        },
        {t})[0];
  };
  GradientTape tape;
  std::map<std::string, Tensor> handed;
  tape.set_gradient_ready_hook([&](const Tensor& source, const Tensor& gradient) {
    const std::string name = Variable::from_tensor(source).name();
    log.push_back(name);
    handed[name] = gradient;
  });
  const Tensor loss = reduce_sum(matmul(relu(matmul(relu(matmul(x, early(w1))), w2)), w3));
  const std::vector<Tensor> grads = tape.gradient(loss, std::vector<Tensor>{w1, w2, w3});
  // w3 and w2 are final (and handed over) before the backward pass reaches the early op; w1
  // only once it has gone through the early op, its first reader.
  EXPECT_EQ(log, (std::vector<std::string>{"w3", "w2", "early op", "w1"}));
  expect_tensor_near(handed["w1"], grads[0], 0, 0);
  expect_tensor_near(handed["w2"], grads[1], 0, 0);
  expect_tensor_near(handed["w3"], grads[2], 0, 0);
}

TEST(GradientReadyHook, ASharedWeightIsFinalAfterItsFirstUse) {
  Variable w(fill(Shape{3, 3}, 0.5), "shared");
  Variable other(fill(Shape{3, 3}, 0.1), "other");
  const Tensor x = ones(Shape{2, 3});
  GradientTape tape;
  std::vector<std::pair<std::string, Tensor>> handed;
  tape.set_gradient_ready_hook([&](const Tensor& source, const Tensor& gradient) {
    handed.emplace_back(Variable::from_tensor(source).name(), gradient);
  });
  const Tensor loss = reduce_sum(matmul(matmul(matmul(x, w), other), w));
  const std::vector<Tensor> grads = tape.gradient(loss, std::vector<Tensor>{w, other});
  ASSERT_EQ(handed.size(), 2u);
  EXPECT_EQ(handed[0].first, "other");
  EXPECT_EQ(handed[1].first, "shared");
  expect_tensor_near(handed[1].second, grads[0], 0, 0);  // both uses added up
}

TEST(GradientReadyHook, UnconnectedSourcesComeLastAndErrorsEndTheCall) {
  Variable used(fill(Shape{2}, 1.0), "used"), unused(fill(Shape{2}, 1.0), "unused");
  {
    GradientTape tape;
    std::vector<std::string> order;
    std::vector<bool> defined;
    tape.set_gradient_ready_hook([&](const Tensor& source, const Tensor& gradient) {
      order.push_back(Variable::from_tensor(source).name());
      defined.push_back(gradient.defined());
    });
    const Tensor loss = reduce_sum(used * 3.0);
    tape.gradient(loss, std::vector<Tensor>{unused, used});
    EXPECT_EQ(order, (std::vector<std::string>{"used", "unused"}));
    EXPECT_EQ(defined, (std::vector<bool>{true, false}));
  }
  {
    GradientTape tape;
    tape.set_gradient_ready_hook([](const Tensor&, const Tensor&) { throw ShapeError("[hook] refused"); });
    const Tensor loss = reduce_sum(used * 3.0);
    expect_error<ShapeError>([&] { tape.gradient(loss, std::vector<Tensor>{used}); }, "[hook] refused");
  }
  {
    GradientTape tape;
    int calls = 0;
    tape.set_gradient_ready_hook([&](const Tensor&, const Tensor&) { ++calls; });
    tape.set_gradient_ready_hook({});  // removed
    tape.gradient(reduce_sum(used * 3.0), std::vector<Tensor>{used});
    EXPECT_EQ(calls, 0);
  }
}

}  // namespace
}  // namespace loom::testing
