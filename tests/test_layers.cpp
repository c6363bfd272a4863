// Keras-style layers: lazy build, names, weights, initializers, regularizers, each built-in.
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

TEST(Layer, BuildsLazilyExactlyOnceWithUniqueNames) {
  auto a = std::make_shared<Dense>(4);
  auto b = std::make_shared<Dense>(4);
  EXPECT_NE(a->name(), b->name());
  EXPECT_EQ(b->name().rfind("dense", 0), 0u);
  EXPECT_FALSE(a->built());
  EXPECT_TRUE(a->weights().empty());
  (*a)(ones({2, 3}));
  EXPECT_TRUE(a->built());
  ASSERT_EQ(a->weights().size(), 2u);
  EXPECT_EQ(a->weights()[0].name(), a->name() + "/kernel");
  EXPECT_EQ(a->weights()[0].shape(), (Shape{3, 4}));
  const uint64_t kernel_id = a->weights()[0].id();
  (*a)(ones({5, 3}));
  EXPECT_EQ(a->weights()[0].id(), kernel_id) << "build runs once";
  expect_error<InvalidArgument>([&] { (*a)(ones({2, 7})); }, "expected inputs with last axis 3, got shape (2, 7)");
  expect_error<InvalidArgument>([] { Dense(0); }, "units must be positive");
  expect_error<InvalidArgument>([] { Dense(3, "swishy"); }, "[activation] unknown activation 'swishy'");
}

TEST(Layer, DenseComputesXWPlusBThenActivation) {
  DenseOptions o;
  o.activation = "relu";
  o.kernel_initializer = Constant(0.5);
  o.bias_initializer = Constant(-1.0);
  Dense d(2, o);
  const Tensor y = d(constant({{1.0, 2.0, 3.0}, {0.0, 0.0, 1.0}}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2.0f, 2.0f, 0.0f, 0.0f}));  // relu(3 - 1), relu(0.5 - 1)
  EXPECT_EQ(d.compute_output_shape({-1, 3}), (Shape{-1, 2}));
}

TEST(Layer, GetSetWeightsAndTrainableFlags) {
  auto bn = std::make_shared<BatchNormalization>();
  (*bn)(ones({4, 3}));
  EXPECT_EQ(bn->weights().size(), 4u);
  EXPECT_EQ(bn->trainable_weights().size(), 2u);  // gamma, beta
  EXPECT_EQ(bn->non_trainable_weights().size(), 2u);  // moving mean, variance
  EXPECT_EQ(bn->gamma().name(), bn->name() + "/gamma");
  bn->set_trainable(false);
  EXPECT_TRUE(bn->trainable_weights().empty());
  auto values = bn->get_weights();
  values[0] = fill({3}, 2.0);
  bn->set_weights(values);
  EXPECT_EQ(bn->gamma().to_vector<float>(), std::vector<float>(3, 2.0f));
  values.pop_back();
  expect_error<InvalidArgument>([&] { bn->set_weights(values); }, "set_weights got 3 tensors for 4 weights");
}

TEST(Initializers, KerasDefinitions) {
  const Tensor g = (*GlorotUniform(1))({200, 300}, DType::Float64);
  const double limit = std::sqrt(6.0 / 500);
  EXPECT_LE(reduce_max(abs(g)).item<double>(), limit);
  EXPECT_NEAR(reduce_max(abs(g)).item<double>(), limit, 1e-3);
  const Tensor h = (*HeNormal(2))({3, 3, 64, 128}, DType::Float64);
  // Truncated normal with stddev sqrt(2 / fan_in) after Keras' truncation correction.
  EXPECT_NEAR(std::sqrt(reduce_mean(square(h)).item<double>()), std::sqrt(2.0 / (9 * 64)), 0.003);
  EXPECT_EQ(fans({3, 3, 64, 128}), (std::pair<double, double>{576, 1152}));
  const Tensor n = (*RandomNormal(0, 0.01, 3))({1000}, DType::Float64);
  EXPECT_NEAR(std::sqrt(reduce_mean(square(n)).item<double>()), 0.01, 0.001);
  EXPECT_EQ((*Constant(3))({2}, DType::Int32).to_vector<int32_t>(), (std::vector<int32_t>{3, 3}));
  auto custom = FromFunction([](const Shape& s, DType d) { return fill(s, 42.0, d); });  // the seed's custom init
  EXPECT_EQ((*custom)({2}, DType::Float32).to_vector<float>(), (std::vector<float>{42, 42}));
  auto bad = FromFunction([](const Shape&, DType) { return zeros({1}); });
  expect_error<ShapeError>([&] { (*bad)({2, 2}, DType::Float32); }, "[initializer] the function returned shape (1,)");
  expect_error<InvalidArgument>([] { get_initializer("orthogonal"); }, "unknown initializer 'orthogonal'");
}

TEST(Regularizers, AddToLosses) {
  DenseOptions o;
  o.kernel_initializer = Constant(2.0);
  o.kernel_regularizer = L2(0.1);
  o.bias_regularizer = L1(0.5);
  o.bias_initializer = Constant(-1.0);
  Dense d(2, o);
  d(ones({1, 3}));
  const auto losses = d.losses();
  ASSERT_EQ(losses.size(), 2u);
  EXPECT_NEAR(losses[0].item<float>(), 0.1 * 6 * 4, 1e-5);  // l2 * sum(w^2)
  EXPECT_NEAR(losses[1].item<float>(), 0.5 * 2, 1e-6);      // l1 * sum(|b|)
  EXPECT_NEAR((*L1L2(1, 1))(constant({-1.0, 2.0})).item<float>(), 3 + 5, 1e-6);
}

TEST(Layers, ShapesOfConvPoolFlattenReshape) {
  Conv2DLayerOptions co;
  co.padding = "same";
  co.strides = {2, 2};
  Conv2D conv(8, {3, 3}, co);
  const Tensor x = random_normal({2, 9, 9, 3}, 0, 1, DType::Float32, 4);
  EXPECT_EQ(conv(x).shape(), (Shape{2, 5, 5, 8}));
  EXPECT_EQ(conv.kernel().shape(), (Shape{3, 3, 3, 8}));
  EXPECT_EQ(conv.compute_output_shape({-1, 9, 9, 3}), (Shape{-1, 5, 5, 8}));
  MaxPool2D pool({3, 3}, {2, 2}, "valid");
  EXPECT_EQ(pool(x).shape(), (Shape{2, 4, 4, 3}));
  EXPECT_EQ(AvgPool2D()(x).shape(), (Shape{2, 4, 4, 3}));
  EXPECT_EQ(GlobalAvgPool2D()(x).shape(), (Shape{2, 3}));
  EXPECT_EQ(Flatten()(x).shape(), (Shape{2, 243}));
  EXPECT_EQ(Reshape({9, -1})(x).shape(), (Shape{2, 9, 27}));
  EXPECT_EQ(Concatenate()({x, x}).shape(), (Shape{2, 9, 9, 6}));
  EXPECT_EQ(Add()({x, x}).to_vector<float>(), (x * 2.0).to_vector<float>());
  expect_error<InvalidArgument>([&] { Conv2D(4, {3, 3})(ones({3, 3})); }, "expects NHWC inputs of rank 4");
}

TEST(Layers, DropoutOnlyInTraining) {
  Dropout d(0.5, 11);
  const Tensor x = ones({1000});
  EXPECT_EQ(d(x, false).to_vector<float>(), x.to_vector<float>());
  const auto a = d(x, true).to_vector<float>(), b = d(x, true).to_vector<float>();
  EXPECT_NE(a, b) << "each training call draws a new mask";
  int zeros_seen = 0;
  for (float v : a) {
    ASSERT_TRUE(v == 0.0f || v == 2.0f);
    zeros_seen += v == 0.0f;
  }
  EXPECT_NEAR(zeros_seen, 500, 60);
  expect_error<InvalidArgument>([] { Dropout(1.0); }, "rate must be in [0, 1)");
}

TEST(Layers, BatchNormalizationTrainingUpdatesMovingStatistics) {
  BatchNormalizationOptions o;
  o.momentum = 0.5;
  BatchNormalization bn(o);
  const Tensor x = constant({{1.0, 10.0}, {3.0, 30.0}});
  const Tensor y = bn(x, true);
  EXPECT_NEAR(y.to_vector<float>()[0], -1.0 / std::sqrt(1 + 1e-3), 1e-5);
  // moving = 0.5 * initial + 0.5 * batch; the variance uses the unbiased batch variance (2 values).
  EXPECT_NEAR(bn.moving_mean().to_vector<float>()[0], 0.5 * 0 + 0.5 * 2, 1e-6);
  EXPECT_NEAR(bn.moving_variance().to_vector<float>()[0], 0.5 * 1 + 0.5 * 2, 1e-5);
  EXPECT_NEAR(bn.moving_variance().to_vector<float>()[1], 0.5 * 1 + 0.5 * 200, 1e-3);
  // Inference uses the moving statistics.
  const Tensor z = bn(constant({{2.0, 20.0}}), false);
  EXPECT_NEAR(z.to_vector<float>()[0], (2.0 - 1.0) / std::sqrt(1.5 + 1e-3), 1e-5);
}

// The seed's custom layer: weights from the input's shape in build(), exactly once.
class MyDense : public Layer {
 public:
  explicit MyDense(int64_t units) : Layer("my_dense"), units_(units) {}
  void build(const Shape& input_shape) override {
    ++builds;
    w = add_weight("w", {input_shape.back(), units_}, RandomNormal());
    b = add_weight("b", {units_}, Zeros());
  }
  Tensor call(const Tensor& x, bool) override { return matmul(x, w) + b; }
  int builds = 0;
  Variable w, b;

 private:
  int64_t units_;
};

TEST(Layers, CustomLayerWithBuild) {
  auto layer = std::make_shared<MyDense>(3);
  EXPECT_EQ((*layer)(ones({2, 5})).shape(), (Shape{2, 3}));
  (*layer)(ones({4, 5}));
  EXPECT_EQ(layer->builds, 1);
  EXPECT_EQ(layer->w.shape(), (Shape{5, 3}));
  Sequential net({layer, std::make_shared<Dense>(1)});
  EXPECT_EQ(net(ones({2, 5})).shape(), (Shape{2, 1}));
  EXPECT_EQ(net.weights().size(), 4u);
}

}  // namespace
}  // namespace loom::testing
