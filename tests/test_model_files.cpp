// Whole-model files (Model::save / load_model), custom layer types, and training checkpoints
// that resume bit-identically.
#include <filesystem>
#include <fstream>

#include "loom/nn/functional.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;
namespace fs = std::filesystem;

LayerPtr conv(int64_t filters, int64_t k, const std::string& act = "relu") {
  Conv2DLayerOptions o;
  o.padding = "same";
  o.activation = act;
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}

// A small network with every kind of part: a residual block with batch norm, parallel paths
// concatenated, a shared layer, a nested Sequential and two outputs.
std::shared_ptr<Functional> graph_model() {
  const SymbolicTensor x = Input({6, 6, 2}, DType::Float32, "image");
  const SymbolicTensor h = (*conv(4, 3))(x);
  const SymbolicTensor f = (*std::make_shared<BatchNormalization>())((*conv(4, 3, "linear"))(h));
  const SymbolicTensor r = (*std::make_shared<Add>())({h, f});
  const SymbolicTensor paths = (*std::make_shared<Concatenate>())({(*conv(2, 1))(r), (*conv(3, 3))(r)});
  const SymbolicTensor pooled = (*std::make_shared<GlobalAvgPool2D>())(paths);
  auto head = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(8, "relu"), std::make_shared<Dropout>(0.3)});
  const SymbolicTensor features = (*head)(pooled);
  auto shared = std::make_shared<Dense>(3, "linear");
  return std::make_shared<Functional>(std::vector<SymbolicTensor>{x},
                                      std::vector<SymbolicTensor>{(*shared)(features),
                                                                  (*std::make_shared<Dense>(1, "sigmoid"))((*shared)(features))},
                                      "graph");
}

TEST(ModelFiles, AFunctionalModelRoundTripsWithoutTheCodeThatBuiltIt) {
  TempDir dir;
  set_seed(11);
  auto model = graph_model();
  model->compile(Adam(0.01), MeanSquaredError(), {MeanAbsoluteErrorMetric()});
  const Tensor x = random_normal({5, 6, 6, 2}, 0, 1, DType::Float32, 1);
  model->save(dir / "graph.loom");
  const ModelPtr loaded = load_model(dir / "graph.loom");
  const auto a = model->predict_all({x}), b = loaded->predict_all({x});
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) expect_tensor_near(b[i], a[i], 0, 0);
  EXPECT_EQ(loaded->name(), "graph");
  EXPECT_EQ(loaded->layers().size(), model->layers().size());
  ASSERT_TRUE(loaded->compiled());
  EXPECT_EQ(loaded->optimizer()->name(), "Adam");
  EXPECT_DOUBLE_EQ(loaded->optimizer()->current_learning_rate(), 0.01);
  EXPECT_EQ(loaded->loss()->name(), "mean_squared_error");
  EXPECT_EQ(loaded->metrics_names(), model->metrics_names());
  // It trains as the original does: the same step from the same state gives the same weights.
  const Tensor t1 = random_normal({5, 3}, 0, 1, DType::Float32, 2), t2 = random_uniform({5, 1}, 0, 1, DType::Float32, 3);
  model->train_step({x}, {t1, t2});
  loaded->train_step({x}, {t1, t2});
  const auto wa = model->get_weights(), wb = loaded->get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) expect_tensor_near(wb[i], wa[i], 1e-6, 1e-7, "weight " + std::to_string(i));
  // Other tools read the weights: the file is plain safetensors.
  const NamedTensors raw = load_safetensors(dir / "graph.loom");
  EXPECT_EQ(raw.metadata.at("format"), "loom-model");
  EXPECT_EQ(raw.tensors.size(), model->weights().size());
}

TEST(ModelFiles, SequentialModelsRoundTripWithOrWithoutADeclaredInputShape) {
  TempDir dir;
  set_seed(12);
  auto declared = std::make_shared<Sequential>(
      std::vector<LayerPtr>{conv(3, 3), std::make_shared<MaxPool2D>(), std::make_shared<Flatten>(), std::make_shared<Dense>(4, "softmax")},
      Shape{8, 8, 1}, "declared");
  auto lazy = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(5, "tanh"), std::make_shared<Dense>(2)}, "lazy");
  lazy->predict(zeros({1, 3}));  // built by its first call
  const Tensor xi = random_normal({2, 8, 8, 1}, 0, 1, DType::Float32, 4), xv = random_normal({4, 3}, 0, 1, DType::Float32, 5);
  declared->compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
  declared->save(dir / "a.loom");
  lazy->save(dir / "b.loom");
  expect_tensor_near(load_model(dir / "a.loom")->predict(xi), declared->predict(xi), 0, 0);
  const ModelPtr b = load_model(dir / "b.loom", false);
  expect_tensor_near(b->predict(xv), lazy->predict(xv), 0, 0);
  EXPECT_FALSE(b->compiled());
  EXPECT_TRUE(load_model(dir / "a.loom", false)->compiled() == false);
}

// A custom layer: y = x * scale + shift, with a trainable scale and a config argument.
class ScaleShift : public Layer {
 public:
  explicit ScaleShift(double shift, std::string name = "") : Layer("scale_shift", std::move(name)), shift_(shift) {}
  void build(const Shape& s) override { scale_ = add_weight("scale", {s.back()}, Ones()); }
  Tensor call(const Tensor& x, bool) override { return x * scale_ + shift_; }
  std::string type_name() const override { return "ScaleShift"; }
  Attrs get_config() const override { return Attrs{{"name", name()}, {"shift", shift_}}; }

 private:
  double shift_;
  Variable scale_;
};

TEST(ModelFiles, CustomLayerTypesLoadWhenRegisteredAndFailClearlyOtherwise) {
  TempDir dir;
  const SymbolicTensor x = Input({3});
  auto custom = std::make_shared<ScaleShift>(0.5, "affine");
  Functional model({x}, {(*std::make_shared<Dense>(2))((*custom)(x))});
  Variable(custom->weights()[0]).assign(constant({2.0f, 3.0f, 4.0f}));
  model.save(dir / "custom.loom");
  expect_error<NotFoundError>([&] { load_model(dir / "custom.loom"); },
                              "unknown layer type 'ScaleShift' (built-in: ");
  register_layer_type("ScaleShift", [](const Attrs& c) {
    return std::make_shared<ScaleShift>(c.get_float("shift", "ScaleShift"), c.get_string("name", "", "ScaleShift"));
  });
  const ModelPtr loaded = load_model(dir / "custom.loom");
  const Tensor in = constant({{1.0f, -1.0f, 2.0f}});
  expect_tensor_near(loaded->predict(in), model.predict(in), 0, 0);
  EXPECT_EQ(loaded->get_layer("affine")->get_config().get_float("shift", "test"), 0.5);
  expect_error<InvalidArgument>([] { register_layer_type("Dense", [](const Attrs&) { return LayerPtr(); }); },
                                "'Dense' is a built-in layer type");
  // A layer without a type name cannot be saved: the file could not be loaded.
  class Anonymous : public Layer {
   public:
    Anonymous() : Layer("anonymous") {}
    Tensor call(const Tensor& x, bool) override { return x; }
  };
  Functional plain({x}, {(*std::make_shared<Anonymous>())(x)});
  expect_error<InvalidArgument>([&] { plain.save(dir / "plain.loom"); }, "has no type name");
  EXPECT_FALSE(fs::exists(dir / "plain.loom"));
}

TEST(ModelFiles, UnknownTypesFutureVersionsAndOtherFilesAreClearErrors) {
  TempDir dir;
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(2)}, Shape{3});
  model->save(dir / "m.loom");
  NamedTensors raw = load_safetensors(dir / "m.loom");
  const std::string config = raw.metadata.at("model_config");
  auto rewrite = [&](const std::string& from, const std::string& to) {
    NamedTensors edited = raw;
    std::string c = config;
    c.replace(c.find(from), from.size(), to);
    edited.metadata["model_config"] = c;
    save_safetensors(dir / "edited.loom", edited);
  };
  rewrite("\"Dense\"", "\"Densest\"");
  expect_error<NotFoundError>([&] { load_model(dir / "edited.loom"); }, "unknown layer type 'Densest'");
  rewrite("\"format_version\":1", "\"format_version\":7");
  expect_error<IOError>([&] { load_model(dir / "edited.loom"); }, "written by a newer loom (model format 7; this loom reads up to 1)");
  rewrite("\"units\":2", "\"units\":\"two\"");
  expect_error<InvalidArgument>([&] { load_model(dir / "edited.loom"); }, "'units' must be an int");
  NamedTensors broken = raw;
  broken.metadata["model_config"] = "{not json";
  save_safetensors(dir / "broken.loom", broken);
  expect_error<IOError>([&] { load_model(dir / "broken.loom"); }, "holds no valid model config: the config is not JSON");
  model->save_weights(dir / "weights.safetensors");
  expect_error<IOError>([&] { load_model(dir / "weights.safetensors"); }, "is not a loom model file");
  expect_error<IOError>([&] { load_model(dir / "missing.loom"); }, "missing.loom");
  // Weights that do not fit the architecture are refused, naming them.
  NamedTensors wrong = raw;
  wrong.tensors.begin()->second = zeros({7, 7});
  save_safetensors(dir / "wrong.loom", wrong);
  expect_error<InvalidArgument>([&] { load_model(dir / "wrong.loom"); }, "shape mismatch");
}

// A model file is untrusted input: a config that declares layers or inputs far larger than the
// file's weights is refused before their memory is allocated; impossible shapes are errors.
TEST(ModelFiles, ConfigsThatDeclareMoreThanTheFileBacksAreRefusedBeforeAllocating) {
  TempDir dir;
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(2)}, Shape{3});
  model->save(dir / "m.loom");
  const NamedTensors raw = load_safetensors(dir / "m.loom");
  auto rewrite = [&](const std::string& from, const std::string& to) {
    NamedTensors edited = raw;
    std::string& c = edited.metadata["model_config"];
    c.replace(c.find(from), from.size(), to);
    save_safetensors(dir / "edited.loom", edited);
    return dir / "edited.loom";
  };
  // 2^28 units: a 3 x 2^28 float32 kernel (3 GiB) for a file of 32 bytes of weights.
  expect_error<IOError>([&] { load_model(rewrite("\"units\":2", "\"units\":268435456")); },
                        "declares a model larger than its 32 bytes of weights: building it would hold more than");
  // A layer built for inputs of 2^20 x 2^20 values: its shape-inference probe alone is 4 TiB.
  expect_error<IOError>([&] { load_model(rewrite("[-1,3]", "[-1,1048576,1048576]")); },
                        "declares a model larger than its 32 bytes of weights");
  expect_error<ShapeError>([&] { load_model(rewrite("[-1,3]", "[-1,4611686018427387904,8]")); },
                           "more elements than fit in a 64-bit count");
  expect_error<InvalidArgument>([&] { load_model(rewrite("\"units\":2", "\"units\":-2")); }, "units");
  // The budget ends with the load: the process allocates as before.
  EXPECT_EQ(zeros({size_t{1} << 20}).numel(), int64_t{1} << 20);
  EXPECT_EQ(load_model(dir / "m.loom")->weights().size(), 2u);
}

// A run stopped after epoch 2 and resumed from its checkpoint in a fresh model ends with the
// weights of an uninterrupted run: weights, Adam's slots and step, the shuffling order, the
// dropout masks and batch-norm statistics all continue where they were.
TEST(ModelFiles, ACheckpointedRunResumesBitIdentically) {
  TempDir dir;
  auto build = [] {
    set_seed(21);
    return std::make_shared<Sequential>(
        std::vector<LayerPtr>{std::make_shared<Dense>(8, "relu"), std::make_shared<BatchNormalization>(),
                              std::make_shared<Dropout>(0.25), std::make_shared<Dense>(3)},
        Shape{4});
  };
  const Tensor x = random_normal({40, 4}, 0, 1, DType::Float32, 6);
  const Tensor y = random_uniform({40}, 0, 3, DType::Int64, 7);
  auto compile = [](Model& m) { m.compile(Adam(0.01), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()}); };
  FitOptions o;
  o.epochs = 4;
  o.batch_size = 8;
  o.verbose = 0;

  auto straight = build();
  compile(*straight);
  set_seed(99);
  straight->fit(x, y, o);

  auto first = build();
  compile(*first);
  set_seed(99);
  auto checkpoint = std::make_shared<LambdaCallback>();
  checkpoint->epoch_end = [&](Model& m, int epoch, const Logs&) {
    m.save_checkpoint(dir / "run.ckpt", epoch);
    if (epoch == 1) m.stop_training = true;  // "interrupted" after epoch 2
  };
  FitOptions stopped = o;
  stopped.callbacks = {checkpoint};
  first->fit(x, y, stopped);

  set_seed(12345);  // a new process: another global state, another model
  auto resumed = std::make_shared<Sequential>(
      std::vector<LayerPtr>{std::make_shared<Dense>(8, "relu"), std::make_shared<BatchNormalization>(),
                            std::make_shared<Dropout>(0.25), std::make_shared<Dense>(3)},
      Shape{4});
  compile(*resumed);
  FitOptions rest = o;
  rest.initial_epoch = resumed->load_checkpoint(dir / "run.ckpt");
  EXPECT_EQ(rest.initial_epoch, 2);
  resumed->fit(x, y, rest);
  const auto a = straight->get_weights(), b = resumed->get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) expect_tensor_near(b[i], a[i], 0, 0, "weight " + std::to_string(i));
}

}  // namespace
}  // namespace loom::testing
