// loom's ONNX exports checked by the reference tools: each file passes ONNX's checker with its
// full check (python3-onnx) and runs in ONNX Runtime (onnxruntime-node) with loom's predictions
// within 1e-5. A LeNet trained in loom on Fashion-MNIST predicts the same classes there.
#include <filesystem>

#include "loom/interop.hpp"
#include "support/external_tools.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

constexpr double kTolerance = 1e-5;

// The tests need ONNX Runtime and ONNX's checker; they skip, saying which is missing, without.
class OnnxRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    LOOM_SKIP_IF_MISSING(missing_onnxruntime());
    LOOM_SKIP_IF_MISSING(missing_python_module("onnx"));
  }
};

// ONNX Runtime's outputs for the inputs (one per graph input), through run_onnxruntime.js.
std::vector<Tensor> run_in_onnxruntime(const std::string& model, const std::vector<Tensor>& inputs, const TempDir& dir) {
  std::vector<std::string> args{std::string("NODE_PATH=") + LOOM_ONNXRUNTIME_MODULES, LOOM_NODE,
                                std::string(LOOM_INTEROP_SCRIPTS) + "/run_onnxruntime.js", model, dir.path.string()};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string file = dir / ("input_" + std::to_string(i) + ".npy");
    save_npy(file, inputs[i]);
    args.push_back(file);
  }
  const CommandResult r = run_command("/usr/bin/env", args);
  EXPECT_EQ(r.status, 0) << r.output;
  std::vector<Tensor> outputs;
  for (size_t i = 0; std::filesystem::exists(dir / ("output_" + std::to_string(i) + ".npy")); ++i) {
    outputs.push_back(load_npy(dir / ("output_" + std::to_string(i) + ".npy")));
    std::filesystem::remove(dir / ("output_" + std::to_string(i) + ".npy"));
  }
  return outputs;
}

void expect_checker_passes(const std::string& model) {
  const CommandResult r = run_python_script("check_onnx.py", {model});
  EXPECT_EQ(r.status, 0) << r.output;
}

// Exports `model`, checks the file, runs it in ONNX Runtime on `inputs` and compares every
// output with loom's; returns the largest difference.
double compare_with_onnxruntime(Model& model, const std::vector<Tensor>& inputs, int opset = kOnnxMinOpset) {
  TempDir dir;
  const std::string path = dir / "model.onnx";
  export_onnx(model, path, opset);
  expect_checker_passes(path);
  const std::vector<Tensor> expected = model.predict_all(inputs);
  const std::vector<Tensor> actual = run_in_onnxruntime(path, inputs, dir);
  EXPECT_EQ(actual.size(), expected.size());
  double diff = 0;
  for (size_t i = 0; i < actual.size() && i < expected.size(); ++i) diff = std::max(diff, max_abs_diff(actual[i], expected[i]));
  EXPECT_LE(diff, kTolerance) << model.name() << ", opset " << opset;
  return diff;
}

Conv2DLayerOptions conv_options(const std::string& activation, Padding padding = "valid") {
  Conv2DLayerOptions o;
  o.activation = activation;
  o.padding = std::move(padding);
  return o;
}

// LeNet-5 (Dive into Deep Learning's), optionally with batch normalization, on NHWC 28x28 images.
std::shared_ptr<Sequential> lenet(bool batch_norm) {
  auto m = std::make_shared<Sequential>(std::vector<LayerPtr>{}, Shape{28, 28, 1}, batch_norm ? "bn_lenet" : "lenet");
  const std::string act = batch_norm ? "linear" : "sigmoid";
  auto block = [&](LayerPtr layer) {
    m->add(std::move(layer));
    if (batch_norm) {
      m->add(std::make_shared<BatchNormalization>());
      m->add(std::make_shared<Activation>("sigmoid"));
    }
  };
  block(std::make_shared<Conv2D>(6, std::vector<int64_t>{5, 5}, conv_options(act, "same")));
  m->add(std::make_shared<AvgPool2D>());
  block(std::make_shared<Conv2D>(16, std::vector<int64_t>{5, 5}, conv_options(act)));
  m->add(std::make_shared<AvgPool2D>());
  m->add(std::make_shared<Flatten>());
  block(std::make_shared<Dense>(120, act));
  block(std::make_shared<Dense>(84, act));
  m->add(std::make_shared<Dense>(10));
  return m;
}

TEST_F(OnnxRuntime, LeNetsTrainedInLoomPredictTheSameInOnnxRuntime) {
  const data::MnistData fashion = data::load_mnist(LOOM_FASHION_MNIST_DIR);
  const Tensor x_train = reshape(cast(fashion.x_train[{Slice(0, 3000)}], DType::Float32) / 255.0, {-1, 28, 28, 1});
  const Tensor y_train = cast(fashion.y_train[{Slice(0, 3000)}], DType::Int64);
  const Tensor x_test = reshape(cast(fashion.x_test[{Slice(0, 256)}], DType::Float32) / 255.0, {-1, 28, 28, 1});
  for (const bool batch_norm : {false, true}) {
    set_seed(batch_norm ? 2 : 1);
    const auto model = lenet(batch_norm);
    model->compile(Adam(0.003), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
    model->fit(x_train, y_train, quiet(2, 64));
    TempDir dir;
    export_onnx(*model, dir / "lenet.onnx");
    expect_checker_passes(dir / "lenet.onnx");
    const Tensor expected = model->predict(x_test);
    const Tensor actual = run_in_onnxruntime(dir / "lenet.onnx", {x_test}, dir).at(0);
    const double diff = max_abs_diff(actual, expected);
    EXPECT_LE(diff, kTolerance);
    EXPECT_EQ(argmax(actual, 1).to_vector<int64_t>(), argmax(expected, 1).to_vector<int64_t>());
    std::printf("%s: max |ONNX Runtime - loom| = %.3g over 256 test images\n", model->name().c_str(), diff);
    RecordProperty(model->name() + "_max_abs_diff", std::to_string(diff));
  }
}

// Every layer kind export_onnx writes, in NHWC images and flat features.
std::shared_ptr<Sequential> every_layer(const std::vector<std::string>& activations) {
  set_seed(4);
  auto m = std::make_shared<Sequential>(std::vector<LayerPtr>{}, Shape{11, 11, 4}, "every_layer");
  Conv2DLayerOptions strided = conv_options("relu", "same");
  strided.strides = {2, 2};
  m->add(std::make_shared<Conv2D>(6, std::vector<int64_t>{3, 3}, strided));  // 11 -> 6, padding split 1 / 1
  Conv2DLayerOptions dilated = conv_options("linear", Padding(1, 2, 0, 3));
  dilated.dilation_rate = {2, 1};
  dilated.groups = 2;
  m->add(std::make_shared<Conv2D>(4, std::vector<int64_t>{3, 2}, dilated));
  m->add(std::make_shared<BatchNormalization>());
  for (const std::string& a : activations) m->add(std::make_shared<Activation>(a));
  m->add(std::make_shared<MaxPool2D>(std::vector<int64_t>{3, 3}, std::vector<int64_t>{1, 1}, "same"));
  m->add(std::make_shared<AvgPool2D>(std::vector<int64_t>{2, 3}, std::vector<int64_t>{2, 1}, Padding(1, 0, 1, 1)));
  m->add(std::make_shared<Conv2D>(5, std::vector<int64_t>{1, 1}, conv_options("softmax")));
  m->add(std::make_shared<Permute>(std::vector<int64_t>{3, 1, 2}));
  m->add(std::make_shared<Reshape>(Shape{5, -1}));
  m->add(std::make_shared<Dense>(6, "elu"));  // on (N, 5, k): MatMul and Add
  m->add(std::make_shared<BatchNormalization>());  // on rank 3: folded into a scale and a shift
  m->add(std::make_shared<Flatten>());
  m->add(std::make_shared<Dropout>(0.3));
  m->add(std::make_shared<Dense>(7, "gelu"));
  m->add(std::make_shared<BatchNormalization>());
  m->add(std::make_shared<Dense>(3, "log_softmax"));
  return m;
}

// Moving statistics away from their initial values, so that inference-form normalization shows.
void randomize_statistics(Model& model) {
  uint64_t seed = 40;
  for (Layer* l : model.all_layers()) {
    if (auto* bn = dynamic_cast<BatchNormalization*>(l)) {
      const Shape c = bn->moving_mean().shape();
      Variable(bn->moving_mean()).assign(random_uniform(c, -0.5, 0.5, DType::Float32, seed++));
      Variable(bn->moving_variance()).assign(random_uniform(c, 0.5, 1.5, DType::Float32, seed++));
      Variable(bn->gamma()).assign(random_uniform(c, 0.5, 1.5, DType::Float32, seed++));
    }
  }
}

TEST_F(OnnxRuntime, EveryLayerKindMatches) {
  const std::vector<std::vector<std::string>> activation_sets = {
      {"relu", "sigmoid"}, {"tanh", "softplus"}, {"elu", "leaky_relu"}, {"hard_sigmoid", "swish"}, {"gelu", "exponential"}};
  for (const auto& activations : activation_sets) {
    SCOPED_TRACE(activations[0]);
    const auto model = every_layer(activations);
    randomize_statistics(*model);
    const double diff = compare_with_onnxruntime(*model, {random_normal({3, 11, 11, 4}, 0, 1, DType::Float32, 7)});
    std::printf("every layer with %s, %s: max difference %.3g\n", activations[0].c_str(), activations[1].c_str(), diff);
  }
}

TEST_F(OnnxRuntime, EveryOpsetLoomWritesRuns) {
  const auto model = every_layer({"relu", "tanh"});
  randomize_statistics(*model);
  for (int opset = kOnnxMinOpset; opset <= kOnnxMaxOpset; ++opset) {
    compare_with_onnxruntime(*model, {random_normal({2, 11, 11, 4}, 0, 1, DType::Float32, 8)}, opset);
  }
}

TEST_F(OnnxRuntime, TheBatchAxisIsDynamic) {
  TempDir dir;
  const auto model = every_layer({"relu", "sigmoid"});
  export_onnx(*model, dir / "m.onnx");
  for (const int64_t batch : {1, 5}) {
    const Tensor x = random_normal({batch, 11, 11, 4}, 0, 1, DType::Float32, static_cast<uint64_t>(batch));
    EXPECT_LE(max_abs_diff(run_in_onnxruntime(dir / "m.onnx", {x}, dir).at(0), model->predict(x)), kTolerance);
  }
}

// Two inputs, every merge layer, concatenation in NHWC and of flat features, a nested
// Sequential and two outputs.
std::shared_ptr<Functional> branching() {
  set_seed(6);
  const SymbolicTensor image = Input({8, 8, 3}, DType::Float32, "image");
  const SymbolicTensor extra = Input({5}, DType::Float32, "extra");
  auto conv = [](int64_t filters, int64_t k) {
    return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, conv_options("relu", "same"));
  };
  const SymbolicTensor a = (*conv(4, 3))(image), b = (*conv(4, 1))(image);
  const SymbolicTensor merged = (*std::make_shared<Concatenate>())(
      {(*std::make_shared<Add>())({a, b}), (*std::make_shared<Subtract>())({a, b}), (*std::make_shared<Multiply>())({a, b}),
       (*std::make_shared<Average>())({a, b}), (*std::make_shared<Maximum>())({a, b}), (*std::make_shared<Minimum>())({a, b})});
  const SymbolicTensor pooled = (*std::make_shared<GlobalAvgPool2D>())((*conv(6, 3))(merged));
  const SymbolicTensor raw = (*std::make_shared<GlobalAvgPool2D>())(image);  // pooled in loom's layout
  auto head = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(8, "relu"), std::make_shared<Dense>(4)});
  const SymbolicTensor joined = (*std::make_shared<Concatenate>())({pooled, raw, (*std::make_shared<Dense>(3))(extra)});
  return std::make_shared<Functional>(std::vector<SymbolicTensor>{image, extra},
                                      std::vector<SymbolicTensor>{(*head)(joined), (*std::make_shared<Dense>(2, "sigmoid"))(joined)},
                                      "branching");
}

TEST_F(OnnxRuntime, FunctionalModelsWithBranchesAndSeveralInputsAndOutputs) {
  const auto model = branching();
  const double diff = compare_with_onnxruntime(
      *model, {random_normal({4, 8, 8, 3}, 0, 1, DType::Float32, 1), random_normal({4, 5}, 0, 1, DType::Float32, 2)});
  std::printf("branching functional model: max difference %.3g\n", diff);
}

}  // namespace
}  // namespace loom::testing
