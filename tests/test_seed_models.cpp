// The seed's model-building chapters as tests: MLP with Dropout, FancyMLP, NestMLP, parameter
// access, weight decay, polynomial under/over-fitting, K-fold, VGG, NiN, Inception and BN-LeNet.
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

TEST(SeedModels, SequentialMlpWithDropoutOnImages) {
  set_seed(2);
  // Two kinds of 28x28 "images": bright top half or bright bottom half, with noise.
  const Tensor noise = random_uniform({256, 28, 28}, 0, 0.5, DType::Float32, 1);
  const Tensor labels = cast(random_uniform({256}, 0, 2, DType::Int64, 2), DType::Int64);
  const Tensor rows = reshape(cast(range(28), DType::Float32), {1, 28, 1});
  const Tensor top = cast(rows < fill({1, 28, 1}, 14.0), DType::Float32);
  const Tensor lab = reshape(cast(labels, DType::Float32), {256, 1, 1});
  const Tensor images = noise + top * (1.0 - lab) + (1.0 - top) * lab;
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{
      std::make_shared<Flatten>(), std::make_shared<Dense>(256, "relu"), std::make_shared<Dropout>(0.2),
      std::make_shared<Dense>(256, "relu"), std::make_shared<Dropout>(0.5), std::make_shared<Dense>(10, "softmax")},
      Shape{28, 28});
  model->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions o = quiet(3, 32, 3);
  o.validation_split = 0.1;
  const History h = model->fit(images, labels, o);
  EXPECT_GT(h.history.at("val_accuracy").back(), 0.95);
  // Parameter access as the seed does it.
  EXPECT_EQ(model->weights()[0].shape(), (Shape{784, 256}));
  EXPECT_EQ(model->get_layer(1)->name(), model->layers()[1]->name());
  EXPECT_EQ(model->get_layer(model->layers()[3]->name())->weights()[0].shape(), (Shape{256, 256}));
  EXPECT_EQ(model->get_weights().size(), 6u);
  expect_error<InvalidArgument>([&] { model->get_layer(9); }, "index 9 is out of range (6 layers)");
  expect_error<NotFoundError>([&] { model->get_layer("nope"); }, "no layer named 'nope'");
}

// Subclassed models (the seed's MLP, FancyMLP and NestMLP).
class MLP : public Model {
 public:
  MLP() : Model("mlp") {
    flatten = track(std::make_shared<Flatten>());
    hidden = track(std::make_shared<Dense>(256, "relu"));
    output = track(std::make_shared<Dense>(10));
  }
  Tensor call(const Tensor& x, bool training) override { return (*output)((*hidden)((*flatten)(x), training), training); }
  std::shared_ptr<Layer> flatten, hidden, output;
};

class FancyMLP : public Model {
 public:
  FancyMLP() : Model("fancy_mlp") {
    flatten = track(std::make_shared<Flatten>());
    rand_weight = random_uniform({20, 20}, 0, 1, DType::Float32, 7);  // a constant: not a weight
    dense = track(std::make_shared<Dense>(20, "relu"));
  }
  Tensor call(const Tensor& x, bool training) override {
    Tensor h = (*flatten)(x);
    h = relu(matmul(h, rand_weight) + 1.0);
    h = (*dense)(h, training);  // the same layer twice: shared weights
    h = (*dense)(h, training);
    while (norm(h).item<float>() > 1) h = h / 2.0;  // host control flow
    if (norm(h).item<float>() < 0.8) h = h * 10.0;
    return reduce_sum(h);
  }
  Tensor rand_weight;
  std::shared_ptr<Layer> flatten, dense;
};

class NestMLP : public Model {
 public:
  NestMLP() : Model("nest_mlp") {
    net = track(std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Flatten>(), std::make_shared<Dense>(64, "relu"),
                                                                    std::make_shared<Dense>(32, "relu")}));
    dense = track(std::make_shared<Dense>(16, "relu"));
  }
  Tensor call(const Tensor& x, bool training) override { return (*dense)((*net)(x, training), training); }
  std::shared_ptr<Layer> net, dense;
};

TEST(SeedModels, SubclassedFancyAndNestedModels) {
  const Tensor x = random_uniform({2, 20}, 0, 1, DType::Float32, 8);
  MLP mlp;
  EXPECT_EQ(mlp(x).shape(), (Shape{2, 10}));
  EXPECT_EQ(mlp.trainable_weights().size(), 4u);
  auto fancy = std::make_shared<FancyMLP>();
  const Tensor r = (*fancy)(x);
  EXPECT_EQ(r.rank(), 0);
  EXPECT_EQ(fancy->weights().size(), 2u) << "the shared Dense counts once; rand_weight is no weight";
  GradientTape tape;
  const Tensor loss = (*fancy)(x);
  const auto grads = tape.gradient(loss, std::vector<Tensor>{fancy->weights()[0], fancy->weights()[1]});
  EXPECT_TRUE(grads[0].defined()) << "gradients flow through both uses and the host control flow";
  auto nest = std::make_shared<NestMLP>();
  Sequential chimera({nest, std::make_shared<Dense>(20), std::make_shared<FancyMLP>()});  // nesting both ways
  EXPECT_EQ(chimera(x).rank(), 0);
  EXPECT_EQ(nest->weights().size(), 6u);
  EXPECT_EQ(chimera.weights().size(), 6u + 2u + 2u);
}

TEST(SeedModels, WeightDecayShrinksWeightsAndHelpsGeneralise) {
  // The seed's high-dimensional linear regression: 20 training examples, 200 features.
  const int64_t n_train = 20, n_test = 100, dims = 200;
  const Tensor true_w = fill({dims, 1}, 0.01);
  auto make = [&](uint64_t seed, int64_t n) {
    const Tensor x = random_normal({n, dims}, 0, 1, DType::Float32, seed);
    return std::make_pair(x, matmul(x, true_w) + 0.05 + random_normal({n, 1}, 0, 0.01, DType::Float32, seed + 1));
  };
  const auto train_set = make(10, n_train), test_set = make(20, n_test);
  auto train = [&](double wd) {
    set_seed(4);
    DenseOptions o;
    o.kernel_initializer = RandomNormal(0, 1, 5);
    if (wd > 0) o.kernel_regularizer = L2(wd);
    auto net = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(1, o)}, Shape{dims});
    net->compile(SGD(0.003), MeanSquaredError());
    net->fit(train_set.first, train_set.second, quiet(100, 1, 3));
    return std::make_pair(norm(net->weights()[0]).item<double>(),
                          net->evaluate(test_set.first, test_set.second).at("loss"));
  };
  const auto [norm_plain, test_plain] = train(0.0);
  const auto [norm_decay, test_decay] = train(3.0);
  EXPECT_LT(norm_decay, norm_plain * 0.5);
  EXPECT_LT(test_decay, test_plain * 0.5);
}

TEST(SeedModels, PolynomialUnderAndOverFitting) {
  // y = 1.2x - 3.4x^2 + 5.6x^3 + 5 + noise, fitted with 1, 4 and 20 features (x^0 .. x^k).
  const Tensor x = random_normal({200, 1}, 0, 1, DType::Float32, 11);
  auto features = [&](int64_t k) {
    std::vector<Tensor> cols;
    for (int64_t i = 0; i < k; ++i) cols.push_back(pow(x, fill({}, static_cast<double>(i))) / std::tgamma(static_cast<double>(i) + 1));
    return concat(cols, 1);
  };
  const Tensor y = x * 1.2 - square(x) * 3.4 + pow(x, fill({}, 3.0)) * 5.6 + 5.0 + random_normal({200, 1}, 0, 0.01, DType::Float32, 12);
  auto fit = [&](int64_t k, int64_t n_train, int epochs) {
    const Tensor f = features(k);
    const Tensor ft = f[{Slice(None, n_train)}], yt = y[{Slice(None, n_train)}];
    const Tensor fv = f[{Slice(100, None)}], yv = y[{Slice(100, None)}];
    set_seed(6);
    auto net = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(1)}, Shape{k});
    net->compile(SGD(0.01), MeanSquaredError());
    net->fit(ft, yt, quiet(epochs, 10, 3));
    return std::make_pair(net->evaluate(ft, yt).at("loss"), net->evaluate(fv, yv).at("loss"));
  };
  const auto [normal_train, normal_test] = fit(4, 100, 200);
  const auto [linear_train, linear_test] = fit(2, 100, 200);
  const auto [over_train, over_test] = fit(20, 2, 200);
  EXPECT_LT(normal_test, 1.0) << "third-order features fit well";
  EXPECT_GT(linear_train, 10 * normal_train) << "a line underfits";
  EXPECT_GT(over_test, 10 * over_train) << "two examples with 20 features overfit";
}

TEST(SeedModels, KFoldCrossValidation) {
  const Tensor x = random_normal({100, 3}, 0, 1, DType::Float32, 13);
  const Tensor y = matmul(x, constant({{1.0}, {-2.0}, {0.5}}));
  double total = 0;
  for (int64_t fold = 0; fold < 5; ++fold) {
    const auto parts = data::k_fold_split(x, y, 5, fold);
    set_seed(7);
    auto net = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(1)}, Shape{3});
    net->compile(SGD(0.1), MeanSquaredError());
    net->fit(parts[0], parts[1], quiet(20, 8, 3));
    total += net->evaluate(parts[2], parts[3]).at("loss");
  }
  EXPECT_LT(total / 5, 1e-3);
}

LayerPtr conv(int64_t filters, int64_t k, const std::string& act = "relu", std::vector<int64_t> strides = {1, 1},
              const std::string& padding = "same") {
  Conv2DLayerOptions o;
  o.activation = act;
  o.strides = std::move(strides);
  o.padding = padding;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}

TEST(SeedModels, VggBlocksFromConvArch) {
  // conv_arch = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)), channels divided by 16.
  const std::vector<std::pair<int, int64_t>> conv_arch = {{1, 4}, {1, 8}, {2, 16}, {2, 32}, {2, 32}};
  auto net = std::make_shared<Sequential>();
  for (const auto& [convs, channels] : conv_arch) {
    for (int i = 0; i < convs; ++i) net->add(conv(channels, 3));
    net->add(std::make_shared<MaxPool2D>(std::vector<int64_t>{2, 2}, std::vector<int64_t>{2, 2}));
  }
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Dense>(64, "relu"));
  net->add(std::make_shared<Dropout>(0.5));
  net->add(std::make_shared<Dense>(64, "relu"));
  net->add(std::make_shared<Dropout>(0.5));
  net->add(std::make_shared<Dense>(10));
  const Tensor x = random_uniform({2, 224 / 4, 224 / 4, 1}, 0, 1, DType::Float32, 14);
  EXPECT_EQ((*net)(x).shape(), (Shape{2, 10}));
  EXPECT_EQ(net->get_layer(13)->input_shape(), (Shape{-1, 1, 1, 32})) << "Flatten after five halvings of 56";
}

TEST(SeedModels, NiNWithOneByOneConvolutions) {
  auto nin_block = [](int64_t channels, int64_t k, int64_t stride, const std::string& padding) {
    return std::make_shared<Sequential>(std::vector<LayerPtr>{conv(channels, k, "relu", {stride, stride}, padding),
                                                              conv(channels, 1), conv(channels, 1)});
  };
  Sequential net({nin_block(8, 5, 2, "valid"), std::make_shared<MaxPool2D>(std::vector<int64_t>{3, 3}, std::vector<int64_t>{2, 2}),
                  nin_block(10, 3, 1, "same"), std::make_shared<GlobalAvgPool2D>()});
  EXPECT_EQ(net(random_uniform({2, 32, 32, 1}, 0, 1, DType::Float32, 15)).shape(), (Shape{2, 10}));
}

// GoogLeNet's Inception block: four paths concatenated on channels.
class Inception : public Layer {
 public:
  Inception(int64_t c1, std::pair<int64_t, int64_t> c2, std::pair<int64_t, int64_t> c3, int64_t c4) : Layer("inception") {
    p1 = track(conv(c1, 1));
    p2a = track(conv(c2.first, 1));
    p2b = track(conv(c2.second, 3));
    p3a = track(conv(c3.first, 1));
    p3b = track(conv(c3.second, 5));
    p4a = track(std::make_shared<MaxPool2D>(std::vector<int64_t>{3, 3}, std::vector<int64_t>{1, 1}, "same"));
    p4b = track(conv(c4, 1));
  }
  Tensor call(const Tensor& x, bool t) override {
    return concat({(*p1)(x, t), (*p2b)((*p2a)(x, t), t), (*p3b)((*p3a)(x, t), t), (*p4b)((*p4a)(x, t), t)}, -1);
  }
  LayerPtr p1, p2a, p2b, p3a, p3b, p4a, p4b;
};

TEST(SeedModels, InceptionBlockConcatenatesFourPaths) {
  Inception block(4, {6, 8}, {2, 3}, 3);
  const Tensor y = block(random_uniform({2, 12, 12, 5}, 0, 1, DType::Float32, 16));
  EXPECT_EQ(y.shape(), (Shape{2, 12, 12, 4 + 8 + 3 + 3}));
  EXPECT_EQ(block.weights().size(), 12u);
}

TEST(SeedModels, BatchNormLeNetTrainsAndPredictsPerSample) {
  set_seed(8);
  auto net = std::make_shared<Sequential>(std::vector<LayerPtr>{
      conv(6, 5, "linear", {1, 1}, "valid"), std::make_shared<BatchNormalization>(), std::make_shared<Activation>("sigmoid"),
      std::make_shared<MaxPool2D>(), conv(16, 5, "linear", {1, 1}, "valid"), std::make_shared<BatchNormalization>(),
      std::make_shared<Activation>("sigmoid"), std::make_shared<MaxPool2D>(), std::make_shared<Flatten>(),
      std::make_shared<Dense>(120), std::make_shared<BatchNormalization>(), std::make_shared<Activation>("sigmoid"),
      std::make_shared<Dense>(84), std::make_shared<BatchNormalization>(), std::make_shared<Activation>("sigmoid"),
      std::make_shared<Dense>(10)}, Shape{28, 28, 1});
  const Tensor x = random_uniform({64, 28, 28, 1}, 0, 1, DType::Float32, 17);
  const Tensor y = argmax(reshape(x, {64, -1})[{Slice(), Slice(None, 10)}], 1);
  net->compile(SGD(0.5, 0.9), SparseCategoricalCrossentropy(true));
  const History h = net->fit(x, y, quiet(5, 16, 3));
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  auto bn = std::dynamic_pointer_cast<BatchNormalization>(net->get_layer(1));
  ASSERT_TRUE(bn);
  EXPECT_EQ(bn->gamma().shape(), (Shape{6}));  // the seed reads gamma and beta of a BN layer
  EXPECT_EQ(bn->beta().shape(), (Shape{6}));
  EXPECT_NE(bn->moving_mean().to_vector<float>()[0], 0.0f) << "training updated the moving mean";
  const Tensor batch = net->predict(x[{Slice(None, 8)}]);
  const Tensor single = net->predict(x[{Slice(3, 4)}]);
  expect_tensor_near(single, batch[{Slice(3, 4)}], 1e-5, 1e-6, "inference does not depend on the batch");
}

}  // namespace
}  // namespace loom::testing
