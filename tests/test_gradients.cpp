// The gradient harness: every differentiable op of the registry is checked against central
// finite differences in float64 (first and second order), on the rows of the op table marked
// "grad" (tests/golden/make_op_cases.py, make_nn_cases.py): broadcast shapes and non-contiguous
// views. An op added without such a row fails GradCoverage.
#include <functional>
#include <map>

#include "ops/registry.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

// A gradient check: a row of the op table (tests/golden/*.json) marked "grad".
struct GradSpec {
  std::string op;
  Attrs attrs;
  std::vector<Tensor> inputs;
  std::string label;
  bool second_order = true;
};

uint64_t next_seed() {
  static uint64_t seed = 1000;
  return seed++;
}

std::vector<GradSpec> specs() {
  std::vector<GradSpec> out;
  std::map<std::string, int> seen;
  for (const auto& c : golden_cases()) {
    if (!c.contains("grad")) continue;
    GradSpec spec{c.at("op"), attrs_from_json(c.at("attrs")), {}, "", c.at("grad") != "first"};
    for (const auto& in : c.at("inputs")) spec.inputs.push_back(tensor_from_json(in));
    spec.label = "row " + std::to_string(seen[spec.op]++) + " " + c.at("attrs").dump();
    out.push_back(std::move(spec));
  }
  return out;
}

// sum_k sum(outputs_k * weights_k): one scalar that depends on every output element.
Tensor weighted_loss(const GradSpec& spec, const std::vector<Tensor>& inputs, const std::vector<Tensor>& weights) {
  const std::vector<Tensor> outs = call_op(spec.op, inputs, spec.attrs);
  Tensor loss = zeros({}, DType::Float64);
  for (size_t k = 0; k < outs.size(); ++k) {
    if (weights[k].defined()) loss = loss + reduce_sum(outs[k] * weights[k]);
  }
  return loss;
}

std::vector<size_t> float_inputs(const std::vector<Tensor>& inputs) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() == DType::Float64) idx.push_back(i);
  }
  return idx;
}

void expect_close(const Tensor& analytic, const std::vector<double>& numeric, const std::string& what) {
  ASSERT_TRUE(analytic.defined()) << what << ": no gradient";
  const auto a = analytic.to_vector<double>();
  ASSERT_EQ(a.size(), numeric.size()) << what;
  for (size_t j = 0; j < a.size(); ++j) {
    EXPECT_NEAR(a[j], numeric[j], 1e-6 + 1e-5 * std::abs(numeric[j])) << what << " element " << j;
  }
}

class GradCheck : public ::testing::TestWithParam<size_t> {};

TEST_P(GradCheck, FirstAndSecondOrderMatchFiniteDifferences) {
  static const std::vector<GradSpec> all = specs();
  const GradSpec& spec = all[GetParam()];
  SCOPED_TRACE(spec.op + " " + spec.label);
  const std::vector<Tensor>& inputs = spec.inputs;
  const std::vector<size_t> diff = float_inputs(inputs);
  std::vector<Tensor> weights;
  for (const Tensor& out : call_op(spec.op, inputs, spec.attrs)) {
    weights.push_back(is_floating(out.dtype()) ? random_normal(out.shape(), 0, 1, DType::Float64, next_seed()) : Tensor());
  }
  auto sources = [&](const std::vector<Tensor>& in) {
    std::vector<Tensor> src;
    for (size_t i : diff) src.push_back(in[i]);
    return src;
  };

  // First order.
  GradientTape tape;
  tape.watch(sources(inputs));
  const Tensor loss = weighted_loss(spec, inputs, weights);
  const auto grads = tape.gradient(loss, sources(inputs), {}, UnconnectedGradients::Zero);
  auto f = [&](const std::vector<Tensor>& in) { return weighted_loss(spec, in, weights).item<double>(); };
  for (size_t k = 0; k < diff.size(); ++k) {
    expect_close(grads[k], numeric_gradient(f, inputs, diff[k]), "d/d input " + std::to_string(diff[k]));
  }

  if (!spec.second_order) return;
  // Second order: G(x) = sum_k sum(v_k * dL/dx_k), differentiated by an outer tape.
  std::vector<Tensor> v;
  for (size_t i : diff) v.push_back(random_normal(inputs[i].shape(), 0, 1, DType::Float64, next_seed()));
  auto grad_dot = [&](const std::vector<Tensor>& in) {
    GradientTape inner;
    inner.watch(sources(in));
    const Tensor l = weighted_loss(spec, in, weights);
    const auto g = inner.gradient(l, sources(in), {}, UnconnectedGradients::Zero);
    Tensor total = zeros({}, DType::Float64);
    for (size_t k = 0; k < g.size(); ++k) total = total + reduce_sum(g[k] * v[k]);
    return total;
  };
  GradientTape outer;
  outer.watch(sources(inputs));
  const Tensor G = grad_dot(inputs);
  const auto second = outer.gradient(G, sources(inputs), {}, UnconnectedGradients::Zero);
  auto fg = [&](const std::vector<Tensor>& in) { return grad_dot(in).item<double>(); };
  for (size_t k = 0; k < diff.size(); ++k) {
    expect_close(second[k], numeric_gradient(fg, inputs, diff[k]), "second order, input " + std::to_string(diff[k]));
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, GradCheck, ::testing::Range<size_t>(0, specs().size()),
                         [](const auto& info) {
                           static const std::vector<GradSpec> all = specs();
                           return all[info.param].op + "_" + std::to_string(info.param);
                         });

TEST(GradCoverage, EveryDifferentiableOpHasAGradientCheck) {
  std::set<std::string> covered;
  for (const GradSpec& s : specs()) covered.insert(s.op);
  for (const OpDef* op : all_ops()) {
    if (op->internal || !op->differentiable()) continue;
    EXPECT_TRUE(covered.count(op->name)) << "op '" << op->name << "' has a gradient but no finite-difference check";
  }
}

}  // namespace
}  // namespace loom::testing
