// Keras' functional API: Input, layer calls on symbolic tensors, Functional models with several
// inputs and outputs, shared layers, merge layers, nesting both ways, summary and errors.
#include "loom/nn/functional.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

LayerPtr conv(int64_t filters, int64_t k, const std::string& act = "relu") {
  Conv2DLayerOptions o;
  o.padding = "same";
  o.activation = act;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}

// GoogLeNet's Inception block: four parallel paths concatenated on the channels.
SymbolicTensor inception(const SymbolicTensor& x, int64_t c1, int64_t c2, int64_t c3, int64_t c4) {
  const SymbolicTensor p1 = (*conv(c1, 1))(x);
  const SymbolicTensor p2 = (*conv(c2, 3))((*conv(c2, 1))(x));
  const SymbolicTensor p3 = (*conv(c3, 5))((*conv(c3, 1))(x));
  auto pool = std::make_shared<MaxPool2D>(std::vector<int64_t>{3, 3}, std::vector<int64_t>{1, 1}, "same");
  const SymbolicTensor p4 = (*conv(c4, 1))((*pool)(x));
  return (*std::make_shared<Concatenate>(-1))({p1, p2, p3, p4});
}

TEST(Functional, InceptionBlockConcatenatesFourPaths) {
  set_seed(1);
  const SymbolicTensor x = Input({8, 8, 3});
  const SymbolicTensor y = inception(x, 2, 3, 4, 5);
  EXPECT_EQ(y.shape(), (Shape{-1, 8, 8, 14}));
  auto model = std::make_shared<Functional>(std::vector<SymbolicTensor>{x}, std::vector<SymbolicTensor>{y}, "inception");
  const Tensor in = random_normal({2, 8, 8, 3}, 0, 1, DType::Float32, 3);
  const Tensor out = model->predict(in);
  EXPECT_EQ(out.shape(), (Shape{2, 8, 8, 14}));
  // Path 1 is the first 1x1 convolution (+relu) of the input, in channels 0-1.
  const LayerPtr first = model->get_layer(1);
  expect_tensor_near(out[{Ellipsis, Slice(0, 2)}].contiguous(), (*first)(in), 1e-6, 1e-6);
  EXPECT_EQ(model->layers().size(), 9u);  // the input, 6 convolutions, the pool, the concatenation
  EXPECT_EQ(model->weights().size(), 12u);
}

TEST(Functional, ResidualBlockAddsTheInputToItsTransform) {
  set_seed(2);
  const SymbolicTensor x = Input({4, 4, 2});
  auto c1 = conv(2, 3), c2 = conv(2, 3, "linear");
  auto bn = std::make_shared<BatchNormalization>();
  const SymbolicTensor f = (*bn)((*c2)((*c1)(x)));
  const SymbolicTensor y = (*std::make_shared<Activation>("relu"))((*std::make_shared<Add>())({x, f}));
  Functional model({x}, {y});
  const Tensor in = random_normal({3, 4, 4, 2}, 0, 1, DType::Float32, 4);
  const Tensor fx = (*bn)((*c2)((*c1)(in)), false);
  expect_tensor_near(model.predict(in), relu(in + fx), 1e-6, 1e-6);
}

TEST(Functional, SeveralInputsAndOutputsWithASharedLayer) {
  set_seed(3);
  const SymbolicTensor a = Input({3}, DType::Float32, "a");
  const SymbolicTensor b = Input({3}, DType::Float32, "b");
  auto shared = std::make_shared<Dense>(2, "linear");
  const SymbolicTensor ha = (*shared)(a), hb = (*shared)(b);
  auto sum = std::make_shared<Add>("sum");
  auto diff = std::make_shared<Subtract>("diff");
  Functional model({a, b}, {(*sum)({ha, hb}), (*diff)({ha, hb})}, "two_heads");
  EXPECT_EQ(model.weights().size(), 2u) << "a layer called twice has one set of weights";
  const Tensor xa = constant({{1.0, 2.0, 3.0}}), xb = constant({{-1.0, 0.5, 2.0}});
  const std::vector<Tensor> out = model.predict_all({xa, xb});
  ASSERT_EQ(out.size(), 2u);
  const Tensor k = shared->kernel(), bias = shared->bias();
  expect_tensor_near(out[0], matmul(xa, k) + matmul(xb, k) + bias * 2.0, 1e-6, 1e-6);
  expect_tensor_near(out[1], matmul(xa - xb, k), 1e-6, 1e-6);
  EXPECT_EQ(model.output_names(), (std::vector<std::string>{"sum", "diff"}));

  // Training on both outputs: the loss is the sum, each output logs its own loss and metric.
  model.compile("sgd", "mse", {"mae"});
  const Tensor x1 = random_normal({32, 3}, 0, 1, DType::Float32, 5), x2 = random_normal({32, 3}, 0, 1, DType::Float32, 6);
  const Tensor t1 = random_normal({32, 2}, 0, 1, DType::Float32, 7), t2 = random_normal({32, 2}, 0, 1, DType::Float32, 8);
  const Logs before = model.evaluate({x1, x2}, {t1, t2});
  EXPECT_NEAR(before.at("loss"), before.at("sum_loss") + before.at("diff_loss"), 1e-5);
  EXPECT_EQ(model.metrics_names(), (std::vector<std::string>{"loss", "sum_loss", "diff_loss", "sum_mae", "diff_mae"}));
  const History h = model.fit({x1, x2}, {t1, t2}, quiet(5, 8));
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  EXPECT_TRUE(h.history.count("diff_mae"));
  expect_error<InvalidArgument>([&] { model.fit({x1, x2}, {t1}, quiet(1)); }, "has 2 output(s), but y holds 1 tensor(s)");
}

TEST(Functional, MergeLayersComputeTheirValues) {
  const SymbolicTensor a = Input({2}), b = Input({2}), c = Input({2});
  const Tensor xa = constant({{1.0, -2.0}}), xb = constant({{3.0, 0.5}}), xc = constant({{-1.0, 4.0}});
  auto run = [&](const LayerPtr& layer) {
    Functional m({a, b, c}, {(*layer)({a, b, c})});
    return m.predict_all({xa, xb, xc})[0];
  };
  expect_tensor_near(run(std::make_shared<Multiply>()), constant({{-3.0, -4.0}}), 0, 0);
  expect_tensor_near(run(std::make_shared<Average>()), constant({{1.0, 2.5 / 3}}), 1e-6, 0);
  expect_tensor_near(run(std::make_shared<Maximum>()), constant({{3.0, 4.0}}), 0, 0);
  expect_tensor_near(run(std::make_shared<Minimum>()), constant({{-1.0, -2.0}}), 0, 0);
  expect_error<InvalidArgument>([&] { (*std::make_shared<Subtract>("sub3"))({a, b, c}); }, "takes 2 inputs, got 3");
}

TEST(Functional, ShapeErrorsNameTheLayerAndShapesWhenTheGraphIsBuilt) {
  const SymbolicTensor a = Input({4}), b = Input({5});
  expect_error<ShapeError>([&] { (*std::make_shared<Add>("joined"))({a, b}); },
                           "[joined] (Add) cannot be called on input shape (-1, 4) and (-1, 5)");
  auto dense = std::make_shared<Dense>(3, "linear");
  (*dense)(a);
  expect_error<InvalidArgument>([&] { (*dense)(b); }, "[dense");
  const SymbolicTensor img = Input({4, 4, 1});
  expect_error<ShapeError>([&] { (*std::make_shared<Concatenate>(1, "cat"))({img, Input({5, 4, 2})}); },
                           "must agree on every axis but axis 1");
  const SymbolicTensor other = Input({4});
  expect_error<InvalidArgument>([&] { Functional({a}, {(*std::make_shared<Add>())({a, other})}); },
                                "depends on input");
  expect_error<InvalidArgument>([&] { Functional({a}, {SymbolicTensor()}); }, "symbolic tensor is empty");
}

TEST(Functional, NestsInSequentialAndSequentialNestsInIt) {
  set_seed(5);
  // A Sequential inside a functional model...
  auto inner = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(4, "relu"), std::make_shared<Dense>(3)});
  const SymbolicTensor x = Input({2});
  auto functional = std::make_shared<Functional>(std::vector<SymbolicTensor>{x},
                                                 std::vector<SymbolicTensor>{(*inner)(x)}, "wrapper");
  const Tensor in = constant({{0.5, -1.0}, {2.0, 1.0}});
  expect_tensor_near(functional->predict(in), inner->predict(in), 0, 0);
  // ... and that functional model inside a Sequential, trained as a whole.
  auto outer = std::make_shared<Sequential>(std::vector<LayerPtr>{functional, std::make_shared<Dense>(1)});
  outer->compile(Adam(0.02), MeanSquaredError());
  const Tensor xs = random_normal({64, 2}, 0, 1, DType::Float32, 9);
  const Tensor ys = reduce_sum(xs, std::vector<int64_t>{1}, true);
  const History h = outer->fit(xs, ys, quiet(30, 16));
  EXPECT_LT(h.history.at("loss").back(), 0.5 * h.history.at("loss").front());
  EXPECT_EQ(outer->weights().size(), 6u);
  const std::string s = outer->summary();
  EXPECT_NE(s.find("wrapper (Functional)"), std::string::npos) << s;
}

TEST(Functional, SummaryListsTypesShapesParametersAndInboundLayers) {
  const SymbolicTensor x = Input({3}, DType::Float32, "features");
  const SymbolicTensor h = (*std::make_shared<Dense>(4, DenseOptions{"relu", true, GlorotUniform(), Zeros(), nullptr, nullptr, "hidden"}))(x);
  Functional model({x}, {h}, "small");
  const std::string s = model.summary();
  EXPECT_NE(s.find("features (InputLayer)"), std::string::npos) << s;
  EXPECT_NE(s.find("hidden (Dense)"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 4)"), std::string::npos) << s;
  EXPECT_NE(s.find("16"), std::string::npos) << s;
  EXPECT_NE(s.find("Connected to"), std::string::npos) << s;
  EXPECT_NE(s.find("features\n"), std::string::npos) << "the dense layer is connected to the input: " << s;
  EXPECT_NE(s.find("Total params: 16"), std::string::npos) << s;
}

TEST(Functional, InputsCastToTheirDtypeAndCheckTheirShape) {
  const SymbolicTensor x = Input({2});
  Functional model({x}, {(*std::make_shared<Activation>("linear"))(x)});
  const Tensor out = model.predict(cast(constant(std::vector<int64_t>{1, 2, 3, 4}).reshape({2, 2}), DType::Int64));
  EXPECT_EQ(out.dtype(), DType::Float32);
  expect_error<InvalidArgument>([&] { model.predict(zeros({2, 3})); }, "expected inputs of shape (-1, 2)");
}

}  // namespace
}  // namespace loom::testing
