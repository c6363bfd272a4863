// Max pooling fused with the relu before it (ops/conv_pool.hpp): conv2d with relu then
// max_pool2d, and relu then max_pool2d, as one op each, and Sequential's use of them: the same
// values and gradients (first and second order) as the ops recorded one by one, the gradients
// against finite differences, and which layer pairs qualify.
#include <algorithm>
#include <cmath>
#include <functional>

#include "nn/layer_config.hpp"
#include "ops/conv_pool.hpp"
#include "ops/registry.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using nn::LayerPtr;

struct ConvPoolCase {
  std::string label;
  Shape x, filter;
  bool bias;
  Conv2DOptions conv;
  Pool2DOptions pool;
};

std::vector<ConvPoolCase> cases() {
  ConvPoolCase same{"same conv, 2x2 pool", {3, 8, 8, 2}, {3, 3, 2, 4}, true, {}, {}};
  same.conv.padding = "same";
  ConvPoolCase overlapping{"strided conv, no bias, overlapping 3x3/2 pool", {2, 9, 9, 3}, {3, 3, 3, 5}, false, {}, {}};
  overlapping.conv.padding = "same";
  overlapping.conv.strides = {2, 2};
  overlapping.pool.window = {3, 3};
  overlapping.pool.strides = {2, 2};
  ConvPoolCase padded{"valid conv, padded 2x2 pool on an odd size", {2, 9, 9, 2}, {3, 3, 2, 3}, true, {}, {}};
  padded.pool.padding = "same";
  std::vector<ConvPoolCase> all{same, overlapping, padded};
  for (ConvPoolCase& c : all) c.conv.activation = "relu";
  return all;
}

struct Inputs {
  Tensor x, filter, bias;
  std::vector<Tensor> list() const { return bias.defined() ? std::vector<Tensor>{x, filter, bias} : std::vector<Tensor>{x, filter}; }
};

// Integer-valued inputs when `ties`: many equal maxima in a window and exact zeros after relu.
Inputs inputs_for(const ConvPoolCase& c, bool ties, uint64_t seed) {
  // x mostly positive and the filter mostly negative: many windows are all cut by relu.
  auto draw = [&](const Shape& s, uint64_t k, double mean) {
    std::vector<double> v = random_normal(s, mean, 1.5, DType::Float64, seed + k).to_vector<double>();
    if (ties) {
      for (double& e : v) e = std::floor(e);
    }
    return constant(v, s, DType::Float64);
  };
  return {draw(c.x, 0, 1.0), draw(c.filter, 1, -0.5), c.bias ? draw(Shape{c.filter[3]}, 2, 0) : Tensor()};
}

Tensor fused(const ConvPoolCase& c, const std::vector<Tensor>& in) {
  return ops::conv2d_relu_max_pool2d(in[0], in[1], in.size() == 3 ? in[2] : Tensor(), c.conv, c.pool);
}
Tensor unfused(const ConvPoolCase& c, const std::vector<Tensor>& in) {
  return max_pool2d(conv2d(in[0], in[1], in.size() == 3 ? in[2] : Tensor(), c.conv), c.pool);
}

using Route = std::function<Tensor(const std::vector<Tensor>&)>;

// First- and second-order gradients of sum(route(sources) * w) with respect to every source:
// the second order is of sum_k sum(first_k * v_k).
struct Gradients {
  Tensor y;
  std::vector<Tensor> first, second;
};
Gradients gradients(const Route& route, const std::vector<Tensor>& sources, const Tensor& w, const std::vector<Tensor>& v) {
  GradientTape outer, inner;
  outer.watch(sources);
  inner.watch(sources);
  Gradients g;
  g.y = route(sources);
  g.first = inner.gradient(reduce_sum(g.y * w), sources);
  Tensor dot = zeros({}, DType::Float64);
  for (size_t k = 0; k < sources.size(); ++k) dot = dot + reduce_sum(g.first[k] * v[k]);
  g.second = outer.gradient(dot, sources, {}, UnconnectedGradients::Zero);
  return g;
}

// The fused and the plain route agree in values (exactly) and in gradients to second order, on
// outputs of which some pass relu and some windows are all cut by it.
void expect_same_values_and_gradients(const Route& fused_route, const Route& plain_route, const std::vector<Tensor>& sources) {
  const Tensor w = random_normal(plain_route(sources).shape(), 0, 1, DType::Float64, 80);
  std::vector<Tensor> v;
  for (const Tensor& t : sources) v.push_back(random_normal(t.shape(), 0, 1, DType::Float64, 90 + v.size()));
  const Gradients a = gradients(fused_route, sources, w, v), b = gradients(plain_route, sources, w, v);
  expect_tensor_near(a.y, b.y, 0, 0, "values");
  const std::vector<double> y = a.y.to_vector<double>();
  EXPECT_GT(std::count_if(y.begin(), y.end(), [](double e) { return e > 0; }), 0) << "some maxima pass relu";
  EXPECT_GT(std::count(y.begin(), y.end(), 0.0), 0) << "some windows are all cut by relu";
  for (size_t k = 0; k < a.first.size(); ++k) {
    expect_tensor_near(a.first[k], b.first[k], 1e-12, 1e-12, "gradient of input " + std::to_string(k));
    expect_tensor_near(a.second[k], b.second[k], 1e-12, 1e-12, "second order, input " + std::to_string(k));
  }
}

// The first-order gradient of sum(route(sources) * w) against central differences.
void expect_finite_differences(const Route& route, const std::vector<Tensor>& sources) {
  const Tensor w = random_normal(route(sources).shape(), 0, 1, DType::Float64, 180);
  GradientTape tape;
  tape.watch(sources);
  const auto grads = tape.gradient(reduce_sum(route(sources) * w), sources);
  const auto loss = [&](const std::vector<Tensor>& at) { return reduce_sum(route(at) * w).item<double>(); };
  for (size_t k = 0; k < sources.size(); ++k) {
    const std::vector<double> numeric = numeric_gradient(loss, sources, k);
    const std::vector<double> analytic = grads[k].to_vector<double>();
    ASSERT_EQ(analytic.size(), numeric.size());
    for (size_t j = 0; j < numeric.size(); ++j) {
      ASSERT_NEAR(analytic[j], numeric[j], 1e-6 + 1e-5 * std::abs(numeric[j])) << "input " << k << " element " << j;
    }
  }
}

TEST(ConvReluMaxPool, MatchesTheTwoOpsInValuesAndGradientsToSecondOrder) {
  for (const ConvPoolCase& c : cases()) {
    for (const bool ties : {false, true}) {
      SCOPED_TRACE(c.label + (ties ? ", integer inputs (ties)" : ""));
      expect_same_values_and_gradients([&](const std::vector<Tensor>& in) { return fused(c, in); },
                                       [&](const std::vector<Tensor>& in) { return unfused(c, in); }, inputs_for(c, ties, 70).list());
    }
  }
}

TEST(ReluMaxPool, MatchesReluThenMaxPoolInValuesAndGradientsToSecondOrder) {
  for (const ConvPoolCase& c : cases()) {
    for (const bool ties : {false, true}) {
      SCOPED_TRACE(c.label + (ties ? ", integer inputs (ties)" : ""));
      // The convolution's output shape, centred below zero: windows all negative, and ties at 0.
      const Tensor x = inputs_for(c, ties, 200).x - 2.0;
      expect_same_values_and_gradients([&](const std::vector<Tensor>& in) { return ops::relu_max_pool2d(in[0], c.pool); },
                                       [&](const std::vector<Tensor>& in) { return max_pool2d(relu(in[0]), c.pool); }, {x});
    }
  }
}

TEST(ReluMaxPool, GradientMatchesFiniteDifferences) {
  for (const ConvPoolCase& c : cases()) {
    SCOPED_TRACE(c.label);
    expect_finite_differences([&](const std::vector<Tensor>& in) { return ops::relu_max_pool2d(in[0], c.pool); },
                              {inputs_for(c, false, 210).x - 2.0});
  }
}

// float32 one-channel images: the CPU kernel pools each image as the one-channel convolution
// computes it (never writing the convolution's output), with 3x3 and 5x5 filters, 6 and 16
// channels, and a size whose last row and column no window covers.
TEST(ConvReluMaxPool, OneChannelImagesPooledInCacheMatchTheTwoOps) {
  struct Case {
    Shape x, filter;
    bool bias;
  };
  for (const Case& k : {Case{{5, 28, 28, 1}, {3, 3, 1, 16}, true}, Case{{3, 27, 27, 1}, {5, 5, 1, 6}, true},
                        Case{{4, 12, 10, 1}, {3, 3, 1, 6}, false}}) {
    for (const bool ties : {false, true}) {
      SCOPED_TRACE(k.x.str() + " " + k.filter.str() + (ties ? " integer inputs" : ""));
      ConvPoolCase c{"", k.x, k.filter, k.bias, {}, {}};
      c.conv.padding = "same";
      c.conv.activation = "relu";
      const Inputs in64 = inputs_for(c, ties, 300);
      std::vector<Tensor> in;
      for (const Tensor& t : in64.list()) in.push_back(cast(t, DType::Float32));
      const Tensor w = random_normal(unfused(c, in).shape(), 0, 1, DType::Float32, 310);
      GradientTape a, b;
      a.watch(in);
      b.watch(in);
      const Tensor y = fused(c, in), y_ref = unfused(c, in);
      expect_tensor_near(y, y_ref, 0, 0, "values");
      const auto g = a.gradient(reduce_sum(y * w), in), g_ref = b.gradient(reduce_sum(y_ref * w), in);
      for (size_t i = 0; i < in.size(); ++i) expect_tensor_near(g[i], g_ref[i], 1e-6, 1e-6, "gradient of input " + std::to_string(i));
    }
  }
}

// An input layer's filter gradient (x needs none) comes straight from the pooled gradient
// (conv2d_relu_max_pool2d_backprop_filter): in float64 (the scatter then conv2d_backprop_filter)
// the same to second order as the two ops, and against finite differences.
TEST(ConvReluMaxPool, FilterGradientAloneMatchesTheTwoOpsToSecondOrder) {
  for (const ConvPoolCase& c : cases()) {
    for (const bool ties : {false, true}) {
      SCOPED_TRACE(c.label + (ties ? ", integer inputs (ties)" : ""));
      const Inputs in = inputs_for(c, ties, 400);
      const auto with_x = [&](const std::vector<Tensor>& weights) {
        std::vector<Tensor> all{in.x};
        all.insert(all.end(), weights.begin(), weights.end());
        return all;
      };
      std::vector<Tensor> weights = in.list();
      weights.erase(weights.begin());
      expect_same_values_and_gradients([&](const std::vector<Tensor>& w) { return fused(c, with_x(w)); },
                                       [&](const std::vector<Tensor>& w) { return unfused(c, with_x(w)); }, weights);
      if (!ties) expect_finite_differences([&](const std::vector<Tensor>& w) { return fused(c, with_x(w)); }, weights);
    }
  }
}

// float32 one-channel images with 16 and 32 channels under 2x2 pooling: the CPU kernel takes the
// filter gradient from the pooled gradient and argmax without scattering them; 3x3 and 5x5
// filters, "same" and "valid", a size whose last row and column no window covers, no bias.
TEST(ConvReluMaxPool, OneChannelFilterGradientFromThePooledGradientMatchesTheTwoOps) {
  struct Case {
    Shape x, filter;
    bool bias;
    std::string padding;
  };
  for (const Case& k : {Case{{5, 28, 28, 1}, {3, 3, 1, 16}, true, "same"}, Case{{3, 12, 10, 1}, {5, 5, 1, 32}, true, "valid"},
                        Case{{4, 11, 9, 1}, {3, 3, 1, 16}, false, "same"}}) {
    for (const bool ties : {false, true}) {
      SCOPED_TRACE(k.x.str() + " " + k.filter.str() + " " + k.padding + (ties ? " integer inputs" : ""));
      ConvPoolCase c{"", k.x, k.filter, k.bias, {}, {}};
      c.conv.padding = k.padding;
      c.conv.activation = "relu";
      const Inputs in64 = inputs_for(c, ties, 500);
      std::vector<Tensor> in;
      for (const Tensor& t : in64.list()) in.push_back(cast(t, DType::Float32));
      const std::vector<Tensor> weights(in.begin() + 1, in.end());
      const Tensor w = random_normal(unfused(c, in).shape(), 0, 1, DType::Float32, 510);
      GradientTape a, b;
      a.watch(weights);
      b.watch(weights);
      const auto g = a.gradient(reduce_sum(fused(c, in) * w), weights), g_ref = b.gradient(reduce_sum(unfused(c, in) * w), weights);
      for (size_t i = 0; i < weights.size(); ++i) {
        EXPECT_GT(reduce_max(abs(g_ref[i])).item<float>(), 1.0f) << "a gradient of substance";
        // float32 sums in another order than oneDNN's, over up to 5 x 28 x 28 terms.
        expect_tensor_near(g[i], g_ref[i], 1e-4, 1e-4, "gradient of weight " + std::to_string(i));
      }
    }
  }
}

TEST(ConvReluMaxPool, GradientMatchesFiniteDifferences) {
  for (const ConvPoolCase& c : cases()) {
    SCOPED_TRACE(c.label);
    expect_finite_differences([&](const std::vector<Tensor>& in) { return fused(c, in); }, inputs_for(c, false, 170).list());
  }
}

TEST(ConvReluMaxPool, RejectsAnotherActivation) {
  ConvPoolCase c = cases()[0];
  c.conv.activation = "tanh";
  const Inputs in = inputs_for(c, false, 1);
  expect_error<InvalidArgument>([&] { fused(c, in.list()); }, "[conv2d_relu_max_pool2d] the convolution's activation must be relu, got 'tanh'");
  EXPECT_THROW(call_op("conv2d_relu_max_pool2d", in.list(), {}), NotFoundError) << "internal to loom";
}

// The filter-gradient op is internal (no call_op), and names itself and the offending shapes or
// dtypes when its inputs disagree with its attributes.
TEST(ConvReluMaxPool, FilterGradientOpRejectsMismatchedInputs) {
  const Tensor x = zeros({2, 8, 8, 1}, DType::Float32), dy = zeros({2, 4, 4, 16}, DType::Float32);
  const Tensor argmax = zeros({2, 4, 4, 16}, DType::Int64);
  const Attrs attrs{{"padding", std::string("same")}, {"filter_shape", std::vector<int64_t>{3, 3, 1, 16}},
                    {"pool_window", std::vector<int64_t>{2, 2}}};
  const OpDef& op = find_op("conv2d_relu_max_pool2d_backprop_filter");
  EXPECT_EQ(dispatch1(op, {x, dy, argmax}, attrs).shape(), Shape({3, 3, 1, 16})) << "consistent inputs pass";
  expect_error<ShapeError>([&] { dispatch1(op, {x, zeros({2, 4, 3, 16}, DType::Float32), argmax}, attrs); },
                           "[conv2d_relu_max_pool2d_backprop_filter] dy has shape (2, 4, 3, 16), the pooling's output is (2, 4, 4, 16)");
  expect_error<ShapeError>([&] { dispatch1(op, {x, dy, zeros({2, 4, 4, 8}, DType::Int64)}, attrs); },
                           "argmax has shape (2, 4, 4, 8)");
  expect_error<DTypeError>([&] { dispatch1(op, {x, zeros({2, 4, 4, 16}, DType::Float64), argmax}, attrs); },
                           "x is float32 but dy is float64");
  EXPECT_THROW(call_op("conv2d_relu_max_pool2d_backprop_filter", {x, dy, argmax}, attrs), NotFoundError) << "internal to loom";
}

nn::Conv2DLayerOptions conv_layer_options(const std::string& activation) {
  nn::Conv2DLayerOptions o;
  o.activation = activation;
  o.padding = "same";
  return o;
}

TEST(MaxPoolFusion, OnlyBuiltConv2DOrActivationWithReluThenMaxPool2DInTheirComputeDtypeQualify) {
  const Tensor x = random_normal({2, 6, 6, 3}, 0, 1, DType::Float32, 5);
  nn::Conv2D conv(4, {3, 3}, conv_layer_options("relu"));
  nn::Conv2D conv_tanh(4, {3, 3}, conv_layer_options("tanh"));
  nn::MaxPool2D pool;
  nn::AvgPool2D avg;
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv, pool, x)) << "not built yet";
  const Tensor expected = pool(conv(x));
  conv_tanh(x);
  avg(conv(x));
  const auto y = nn::internal::max_pool_fusion(conv, pool, x);
  ASSERT_TRUE(y);
  expect_tensor_near(*y, expected, 0, 0, "the pair's output");
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv_tanh, pool, x)) << "tanh";
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv, avg, x)) << "average pooling";
  EXPECT_FALSE(nn::internal::max_pool_fusion(pool, conv, x)) << "the other order";
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv, pool, cast(x, DType::Float64))) << "float64 input, float32 layers";
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv, pool, Tensor())) << "no input";
  EXPECT_TRUE(nn::internal::max_pool_fusion(conv, pool, random_normal({3, 8, 10, 3}, 0, 1, DType::Float32, 6)))
      << "another batch and image size";
  EXPECT_FALSE(nn::internal::max_pool_fusion(conv, pool, random_normal({2, 6, 6, 2}, 0, 1, DType::Float32, 6)))
      << "other channels: the layer's own call reports it";
  nn::Sequential model({std::make_shared<nn::Conv2D>(4, std::vector<int64_t>{3, 3}, conv_layer_options("relu")),
                        std::make_shared<nn::MaxPool2D>()});
  model(x);
  try {
    model(ones({1, 6, 6, 2}));
    ADD_FAILURE() << "expected an error for 2 channels in a model built for 3";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[conv2d]"), std::string::npos) << e.what();
  }
  nn::Activation relu("relu"), tanh("tanh");
  EXPECT_FALSE(nn::internal::max_pool_fusion(relu, pool, x)) << "not built yet";
  const Tensor expected_relu = pool(relu(x));
  tanh(x);
  const auto y_relu = nn::internal::max_pool_fusion(relu, pool, x);
  ASSERT_TRUE(y_relu);
  expect_tensor_near(*y_relu, expected_relu, 0, 0, "relu and pool");
  EXPECT_FALSE(nn::internal::max_pool_fusion(tanh, pool, x)) << "tanh";
  EXPECT_FALSE(nn::internal::max_pool_fusion(relu, avg, x)) << "average pooling";
}

// Sequential's forward and gradients, fused pairs and all (a Conv2D with relu and an
// Activation("relu") after batch norm, each before a MaxPool2D), against the same layers called
// one by one (every pair unfused), in float32 and under mixed_bfloat16.
void expect_sequential_matches_layer_by_layer(double rtol) {
  auto model = std::make_shared<nn::Sequential>(std::vector<LayerPtr>{
      std::make_shared<nn::Conv2D>(4, std::vector<int64_t>{3, 3}, conv_layer_options("relu")), std::make_shared<nn::MaxPool2D>(),
      std::make_shared<nn::Conv2D>(6, std::vector<int64_t>{3, 3}, conv_layer_options("linear")),
      std::make_shared<nn::BatchNormalization>(nn::BatchNormalizationOptions{}), std::make_shared<nn::Activation>("relu"),
      std::make_shared<nn::MaxPool2D>(), std::make_shared<nn::Flatten>(), std::make_shared<nn::Dense>(3)});
  const Tensor x = random_normal({5, 12, 12, 2}, 0, 1, DType::Float32, 21);
  (*model)(x, true);  // builds
  const std::vector<Variable> variables = model->trainable_weights();
  const std::vector<Tensor> weights(variables.begin(), variables.end());
  const Tensor w = random_normal({5, 3}, 0, 1, DType::Float32, 22);
  GradientTape whole, by_layer;
  const Tensor y = (*model)(x, true);
  const auto g = whole.gradient(reduce_sum(cast(y, DType::Float32) * w), weights);
  Tensor h = x;
  for (const LayerPtr& l : model->sublayers()) h = (*l)(h, true);
  const auto g_layers = by_layer.gradient(reduce_sum(cast(h, DType::Float32) * w), weights);
  expect_tensor_near(y, h, 0, 0, "outputs");
  ASSERT_EQ(g.size(), 8u);
  for (size_t k = 0; k < g.size(); ++k) expect_tensor_near(g[k], g_layers[k], rtol, 1e-6, variables[k].name());
}

TEST(MaxPoolFusion, SequentialMatchesItsLayersCalledOneByOne) {
  expect_sequential_matches_layer_by_layer(1e-6);
  nn::set_global_policy("mixed_bfloat16");
  try {
    SCOPED_TRACE("mixed_bfloat16");
    expect_sequential_matches_layer_by_layer(1e-2);
  } catch (...) {
    nn::set_global_policy("float32");
    throw;
  }
  nn::set_global_policy("float32");
}

}  // namespace
}  // namespace loom::testing
