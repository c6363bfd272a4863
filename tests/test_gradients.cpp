// The gradient harness: every differentiable op of the registry is checked against central
// finite differences in float64 (first and second order), on broadcast shapes and
// non-contiguous views. An op added without an entry here fails GradCoverage.
#include <functional>
#include <map>

#include "ops/registry.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

struct GradSpec {
  std::string op;
  Attrs attrs;
  std::function<std::vector<Tensor>()> inputs;
  std::string label;
  bool second_order = true;
};

uint64_t next_seed() {
  static uint64_t seed = 1000;
  return seed++;
}

// float64 values uniform in [lo, hi) in a given layout.
Tensor U(const Shape& shape, double lo = -2, double hi = 2, const std::string& layout = "contiguous") {
  return with_layout(random_uniform(shape, lo, hi, DType::Float64, next_seed()), layout);
}

struct SpecList {
  std::vector<GradSpec> specs;
  void operator()(std::string op, Attrs attrs, std::function<std::vector<Tensor>()> inputs, std::string label = "") {
    specs.push_back({std::move(op), std::move(attrs), std::move(inputs), std::move(label)});
  }
};
using AddSpec = SpecList;

// Neural-network ops: convolutions (strides, dilation, padding modes, groups, depthwise),
// pooling, batch norm and its gradient, softmax, losses, activations, dropout, dense.
void add_nn_specs(AddSpec& add) {
  using V = std::vector<int64_t>;
  struct Conv {
    Shape x, f;
    Attrs attrs;
    bool bias;
  };
  const std::vector<Conv> convs = {
      {{2, 4, 5, 3}, {3, 3, 3, 2}, {{"padding", std::string("same")}}, true},
      {{1, 5, 5, 2}, {3, 2, 2, 3}, {{"padding", std::string("valid")}, {"strides", V{2, 1}}}, false},
      {{1, 6, 6, 2}, {3, 3, 2, 2}, {{"padding", std::string("same")}, {"dilations", V{2, 2}}}, false},
      {{1, 4, 4, 2}, {2, 2, 2, 2}, {{"padding", std::string("explicit")}, {"explicit_paddings", V{1, 0, 0, 1}}}, true},
      {{1, 4, 4, 4}, {3, 3, 2, 4}, {{"padding", std::string("same")}, {"groups", int64_t{2}}}, false},
      {{1, 4, 4, 3}, {3, 3, 1, 6}, {{"padding", std::string("same")}, {"groups", int64_t{3}}}, true},  // depthwise
  };
  for (const Conv& c : convs) {
    add("conv2d", c.attrs, [=] {
      std::vector<Tensor> in{U(c.x, -2, 2, "transposed"), U(c.f)};
      if (c.bias) in.push_back(U({c.f[3]}));
      return in;
    }, "");
    const Tensor probe = call_op("conv2d", {zeros(c.x, DType::Float64), zeros(c.f, DType::Float64)}, c.attrs)[0];
    Attrs in_attrs = c.attrs, f_attrs = c.attrs;
    in_attrs.set("input_shape", c.x.vec());
    f_attrs.set("filter_shape", c.f.vec());
    const Shape y = probe.shape();
    add("conv2d_backprop_input", in_attrs, [=] { return std::vector<Tensor>{U(y), U(c.f)}; }, "");
    add("conv2d_backprop_filter", f_attrs, [=] { return std::vector<Tensor>{U(c.x), U(y)}; }, "");
  }
  for (const char* act : {"relu", "sigmoid", "tanh"}) {
    add("conv2d", {{"padding", std::string("same")}, {"activation", std::string(act)}}, [] {
      return std::vector<Tensor>{U({1, 4, 4, 2}, -2, 2, "transposed"), U({3, 3, 2, 3}), U({3})};
    }, act);
  }
  for (const char* pad : {"valid", "same"}) {
    const Attrs pool{{"window", V{2, 2}}, {"strides", V{2, 1}}, {"padding", std::string(pad)}};
    add("max_pool2d", pool, [] { return std::vector<Tensor>{U({2, 4, 5, 3}, -2, 2, "transposed")}; }, pad);
    add("avg_pool2d", pool, [] { return std::vector<Tensor>{U({2, 4, 5, 3})}; }, pad);
    const Shape y = call_op("avg_pool2d", {zeros({2, 4, 5, 3}, DType::Float64)}, pool)[0].shape();
    Attrs grad_attrs = pool;
    grad_attrs.set("input_shape", V{2, 4, 5, 3});
    add("avg_pool2d_grad", grad_attrs, [=] { return std::vector<Tensor>{U(y)}; }, pad);
  }
  add("max_pool2d_grad", {{"input_shape", V{1, 2, 2, 2}}}, [] {
    return std::vector<Tensor>{U({1, 1, 2, 2}), reshape(constant({2, 5, 0, 7}), {1, 1, 2, 2})};
  }, "");
  add("global_avg_pool2d", {}, [] { return std::vector<Tensor>{U({2, 3, 4, 2})}; }, "");
  add("batch_norm", {{"epsilon", 1e-3}}, [] { return std::vector<Tensor>{U({3, 2, 2, 3}, -2, 2, "transposed"), U({3}), U({3})}; }, "");
  add("batch_norm_grad", {{"epsilon", 1e-3}}, [] {
    return std::vector<Tensor>{U({4, 3}), U({4, 3}), U({3}), U({3}), U({3}, 0.5, 2)};
  }, "");
  add("batch_norm_inference", {{"epsilon", 1e-3}}, [] {
    return std::vector<Tensor>{U({2, 2, 3}), U({3}), U({3}), U({3}), U({3}, 0.5, 2)};
  }, "");
  for (int64_t axis : {-1, 0}) {
    add("softmax", {{"axis", axis}}, [] { return std::vector<Tensor>{U({3, 4}, -2, 2, "transposed")}; }, "");
    add("log_softmax", {{"axis", axis}}, [] { return std::vector<Tensor>{U({3, 4})}; }, "");
  }
  add("sparse_softmax_cross_entropy_with_logits", {}, [] { return std::vector<Tensor>{constant({2, 0, 1}), U({3, 4})}; }, "");
  add("softmax_cross_entropy_with_logits", {}, [] {
    return std::vector<Tensor>{softmax(U({3, 4})), U({3, 4})};
  }, "");
  add("sigmoid_cross_entropy_with_logits", {}, [] { return std::vector<Tensor>{U({3, 4}, 0, 1), U({3, 4}, -4, 4)}; }, "");
  for (const char* op : {"erf", "leaky_relu", "elu", "gelu", "softplus", "silu", "hard_sigmoid"}) {
    add(op, {}, [] { return std::vector<Tensor>{U({3, 4}, -3, 3, "strided")}; }, "");
  }
  add("gelu", {{"approximate", true}}, [] { return std::vector<Tensor>{U({3, 4})}; }, "tanh form");
  add("dropout", {{"rate", 0.4}, {"seed", int64_t{3}}}, [] { return std::vector<Tensor>{U({4, 5})}; }, "");
  for (const char* act : {"linear", "relu", "sigmoid", "tanh"}) {
    add("dense", {{"activation", std::string(act)}}, [] {
      return std::vector<Tensor>{U({2, 3, 4}, -2, 2, "transposed"), U({4, 3}), U({3})};
    }, act);
  }
}

std::vector<GradSpec> specs() {
  SpecList add;
  std::vector<GradSpec>& s = add.specs;
  // Binary ops over broadcasting shapes and layouts; domains keep clear of singularities.
  struct Binary {
    const char* op;
    double alo, ahi, blo, bhi;
  };
  for (const Binary& b : {Binary{"add", -2, 2, -2, 2}, Binary{"sub", -2, 2, -2, 2}, Binary{"mul", -2, 2, -2, 2},
                          Binary{"real_div", -2, 2, 0.5, 2}, Binary{"div", -2, 2, 0.5, 2},
                          Binary{"pow", 0.5, 2, -1, 2}, Binary{"maximum", -2, 2, -2, 2},
                          Binary{"minimum", -2, 2, -2, 2}, Binary{"mod", 0.1, 5, 1.3, 2.1}}) {
    add(b.op, {}, [=] { return std::vector<Tensor>{U({2, 3}, b.alo, b.ahi, "transposed"), U({2, 3}, b.blo, b.bhi)}; }, "same shape");
    add(b.op, {}, [=] { return std::vector<Tensor>{U({2, 3}, b.alo, b.ahi), U({3}, b.blo, b.bhi, "strided")}; }, "row");
    add(b.op, {}, [=] { return std::vector<Tensor>{U({4, 1}, b.alo, b.ahi), U({1, 3}, b.blo, b.bhi)}; }, "outer");
    add(b.op, {}, [=] { return std::vector<Tensor>{U({}, b.alo, b.ahi), U({2, 2}, b.blo, b.bhi)}; }, "0-d");
  }
  struct Unary {
    const char* op;
    double lo, hi;
  };
  for (const Unary& u : {Unary{"neg", -2, 2}, Unary{"abs", -2, 2}, Unary{"sign", -2, 2}, Unary{"exp", -2, 2},
                         Unary{"log", 0.5, 3}, Unary{"log1p", -0.5, 2}, Unary{"sqrt", 0.5, 3},
                         Unary{"rsqrt", 0.5, 3}, Unary{"square", -2, 2}, Unary{"sin", -3, 3},
                         Unary{"cos", -3, 3}, Unary{"tanh", -2, 2}, Unary{"sigmoid", -4, 4},
                         Unary{"relu", -2, 2}, Unary{"identity", -2, 2}}) {
    add(u.op, {}, [=] { return std::vector<Tensor>{U({3, 4}, u.lo, u.hi, "transposed")}; });
    add(u.op, {}, [=] { return std::vector<Tensor>{U({5}, u.lo, u.hi, "strided")}; });
  }
  add("clip", {{"min", -0.5}, {"max", 0.7}}, [] { return std::vector<Tensor>{U({4, 3})}; });
  add("cast", {{"dtype", DType::Float64}}, [] { return std::vector<Tensor>{U({2, 3}, -2, 2, "transposed")}; });
  add("copy_to_device", {{"device", std::string("CPU:0")}}, [] { return std::vector<Tensor>{U({2, 3})}; });
  add("where", {}, [] {
    return std::vector<Tensor>{U({2, 1}) > zeros({2, 1}, DType::Float64), U({3}), U({2, 3}, -2, 2, "transposed")};
  });
  // Reductions over several axis sets, with and without keepdims.
  for (const char* op : {"reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_mean"}) {
    for (const auto& axes : std::vector<std::vector<int64_t>>{{0}, {1}, {2}, {0, 2}, {-1, 0, 1}}) {
      for (bool keep : {false, true}) {
        add(op, {{"axes", axes}, {"keepdims", keep}}, [] { return std::vector<Tensor>{U({2, 3, 4}, 0.5, 1.5, "transposed")}; });
      }
    }
    add(op, {}, [] { return std::vector<Tensor>{U({3, 2})}; }, "all axes");
  }
  add("reduce_prod", {{"axes", std::vector<int64_t>{1}}}, [] {
    return std::vector<Tensor>{constant({{0.0, 2.0, 3.0}, {0.0, 0.0, 1.5}, {1.0, 2.0, -1.0}}, DType::Float64)};
  }, "zeros in the input");
  // The first derivative is exact at zeros; the second is exact only away from them (the count
  // of zeros is piecewise constant), as documented on reduce_prod.
  s.back().second_order = false;
  for (const char* ord : {"euclidean", "1", "inf"}) {
    add("norm", {{"ord", std::string(ord)}}, [] { return std::vector<Tensor>{U({3, 4})}; });
    add("norm", {{"ord", std::string(ord)}, {"axes", std::vector<int64_t>{1}}, {"keepdims", true}},
        [] { return std::vector<Tensor>{U({3, 4}, -2, 2, "strided")}; });
  }
  // matmul: transposes, batches and broadcast batch axes.
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      add("matmul", {{"transpose_a", ta}, {"transpose_b", tb}}, [=] {
        return std::vector<Tensor>{U(ta ? Shape{3, 2} : Shape{2, 3}), U(tb ? Shape{4, 3} : Shape{3, 4}, -2, 2, "transposed")};
      });
    }
  }
  add("matmul", {}, [] { return std::vector<Tensor>{U({2, 1, 2, 3}), U({3, 3, 2})}; }, "broadcast batch");
  add("matmul", {{"transpose_b", true}}, [] { return std::vector<Tensor>{U({4, 2, 3}), U({2, 3})}; }, "shared rhs");
  // Views and shape ops.
  add("reshape", {{"shape", std::vector<int64_t>{3, -1}}}, [] { return std::vector<Tensor>{U({2, 3, 2}, -2, 2, "transposed")}; });
  add("transpose", {{"perm", std::vector<int64_t>{2, 0, 1}}}, [] { return std::vector<Tensor>{U({2, 3, 4})}; });
  add("expand_dims", {{"axis", int64_t{1}}}, [] { return std::vector<Tensor>{U({2, 3}, -2, 2, "strided")}; });
  add("squeeze", {}, [] { return std::vector<Tensor>{U({1, 3, 1, 2})}; });
  add("broadcast_to", {{"shape", std::vector<int64_t>{4, 2, 3}}}, [] { return std::vector<Tensor>{U({2, 1})}; });
  add("slice", {{"begin", std::vector<int64_t>{3, 1}}, {"end", std::vector<int64_t>{0, 4}}, {"step", std::vector<int64_t>{-1, 2}}},
      [] { return std::vector<Tensor>{U({5, 4}, -2, 2, "transposed")}; });
  add("slice", {{"begin", std::vector<int64_t>{1, 0}}, {"end", std::vector<int64_t>{2, 4}}, {"shrink_axes", std::vector<int64_t>{0}}},
      [] { return std::vector<Tensor>{U({3, 4})}; }, "integer index");
  add("slice_grad", {{"shape", std::vector<int64_t>{5, 4}}, {"begin", std::vector<int64_t>{1, 0}},
                     {"end", std::vector<int64_t>{5, 4}}, {"step", std::vector<int64_t>{2, 3}}},
      [] { return std::vector<Tensor>{U({2, 2})}; });
  add("concat", {{"axis", int64_t{1}}}, [] { return std::vector<Tensor>{U({2, 3}, -2, 2, "transposed"), U({2, 1}), U({2, 2})}; });
  add("stack", {{"axis", int64_t{-1}}}, [] { return std::vector<Tensor>{U({2, 3}), U({2, 3}, -2, 2, "strided")}; });
  add("split", {{"sizes", std::vector<int64_t>{1, -1}}, {"axis", int64_t{1}}}, [] { return std::vector<Tensor>{U({2, 4}, -2, 2, "transposed")}; });
  add("tile", {{"multiples", std::vector<int64_t>{2, 3}}}, [] { return std::vector<Tensor>{U({2, 2})}; });
  add("pad", {{"paddings", std::vector<int64_t>{1, 0, 2, 1}}, {"value", 3.0}}, [] { return std::vector<Tensor>{U({2, 3}, -2, 2, "transposed")}; });
  add("gather", {{"axis", int64_t{1}}}, [] { return std::vector<Tensor>{U({3, 4}, -2, 2, "transposed"), constant({{3, 1}, {1, 0}})}; });
  add("scatter_add", {{"axis", int64_t{0}}, {"dim_size", int64_t{4}}}, [] { return std::vector<Tensor>{U({3, 2}), constant({2, 0, 2})}; });
  add_nn_specs(add);
  return add.specs;
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

// Central differences of f with respect to input i.
std::vector<double> numeric_gradient(const std::function<double(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& inputs, size_t i) {
  constexpr double eps = 1e-6;
  std::vector<double> base = inputs[i].to_vector<double>();
  std::vector<double> grad(base.size());
  std::vector<Tensor> probe = inputs;
  for (size_t j = 0; j < base.size(); ++j) {
    std::vector<double> v = base;
    v[j] = base[j] + eps;
    probe[i] = constant(v, inputs[i].shape(), DType::Float64);
    const double up = f(probe);
    v[j] = base[j] - eps;
    probe[i] = constant(v, inputs[i].shape(), DType::Float64);
    const double down = f(probe);
    grad[j] = (up - down) / (2 * eps);
  }
  return grad;
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
  const std::vector<Tensor> inputs = spec.inputs();
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
