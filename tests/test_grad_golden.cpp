// Composite functions built from loom ops against PyTorch (tests/golden/make_grad_golden.py):
// value, gradient and Hessian-vector product in float64.
#include <fstream>
#include <functional>
#include <map>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&, const std::vector<Tensor>&)>;

const std::map<std::string, Fn>& functions() {
  static const std::map<std::string, Fn> fns = {
      {"mlp", [](const std::vector<Tensor>& in, const std::vector<Tensor>&) {
         return reduce_sum(square(tanh(matmul(in[0], in[1]) + in[2])));
       }},
      {"logsumexp", [](const std::vector<Tensor>& in, const std::vector<Tensor>&) {
         const Tensor m = reduce_max(in[0], std::vector<int64_t>{1}, true);
         const Tensor lse = log(reduce_sum(exp(in[0] - m), std::vector<int64_t>{1})) + squeeze(m, {1});
         return reduce_sum(lse * constant({1.0, 2.0, 3.0}, DType::Float64));
       }},
      {"mixed", [](const std::vector<Tensor>& in, const std::vector<Tensor>&) {
         const Tensor& x = in[0];
         return reduce_sum(sigmoid(x) * sin(x) / (1.0 + x * x)) + norm(x);
       }},
      {"cross_entropy", [](const std::vector<Tensor>& in, const std::vector<Tensor>& c) {
         const Tensor m = reduce_max(in[0], std::vector<int64_t>{1}, true);
         const Tensor z = in[0] - m;
         const Tensor log_sm = z - log(reduce_sum(exp(z), std::vector<int64_t>{1}, true));
         return -reduce_sum(c[0] * log_sm) / static_cast<double>(in[0].dim(0));
       }},
  };
  return fns;
}

Tensor from(const nlohmann::json& j) {
  return constant(j.at("values").get<std::vector<double>>(), Shape(j.at("shape").get<std::vector<int64_t>>()),
                  DType::Float64);
}

TEST(GradGolden, CompositeFunctionsMatchPyTorch) {
  std::ifstream in(std::string(LOOM_GOLDEN_DIR) + "/grad_golden.json");
  const auto cases = nlohmann::json::parse(in).at("cases");
  ASSERT_EQ(cases.size(), functions().size());
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const Fn& f = functions().at(name);
    std::vector<Tensor> inputs, constants, v;
    for (const auto& t : c.at("inputs")) inputs.push_back(from(t));
    for (const auto& t : c.at("constants")) constants.push_back(from(t));
    for (const auto& t : c.at("v")) v.push_back(from(t));
    GradientTape outer;
    outer.watch(inputs);
    std::vector<Tensor> grads;
    Tensor value;
    {
      GradientTape inner;
      inner.watch(inputs);
      value = f(inputs, constants);
      grads = inner.gradient(value, inputs);
    }
    EXPECT_NEAR(value.item<double>(), c.at("value").get<double>(), 1e-12);
    Tensor dot = zeros({}, DType::Float64);
    for (size_t i = 0; i < grads.size(); ++i) {
      expect_tensor_near(grads[i], from(c.at("grads")[i]), 1e-10, 1e-12, name + " gradient " + std::to_string(i));
      dot = dot + reduce_sum(grads[i] * v[i]);
    }
    const auto hvp = outer.gradient(dot, inputs);
    for (size_t i = 0; i < hvp.size(); ++i) {
      expect_tensor_near(hvp[i], from(c.at("hvp")[i]), 1e-10, 1e-12, name + " Hessian-vector product " + std::to_string(i));
    }
  }
}

}  // namespace
}  // namespace loom::testing
