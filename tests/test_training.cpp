// compile / fit / evaluate / predict, callbacks, determinism, weights files and checkpoints.
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;
namespace fs = std::filesystem;

// Three separable classes in 10 dimensions.
std::pair<Tensor, Tensor> blobs(int64_t n, uint64_t seed) {
  const Tensor x = random_normal({n, 10}, 0, 1, DType::Float32, seed);
  const Tensor w = random_normal({10, 3}, 0, 1, DType::Float32, 1234);
  return {x, argmax(matmul(x, w), 1)};
}

std::shared_ptr<Sequential> mlp(double dropout = 0.0) {
  return std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(32, "relu"), std::make_shared<Dropout>(dropout, 5),
                                                            std::make_shared<Dense>(3)},
                                      Shape{10});
}

TEST(Fit, LearnsAndReportsHistory) {
  set_seed(1);
  auto [x, y] = blobs(600, 2);
  auto model = mlp(0.1);
  model->compile(Adam(0.01), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
  FitOptions o = quiet(8);
  o.validation_split = 0.2;
  const History h = model->fit(x, y, o);
  EXPECT_EQ(h.epochs_run(), 8);
  ASSERT_EQ(h.history.at("val_loss").size(), 8u);
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front() * 0.5);
  EXPECT_GT(h.history.at("val_accuracy").back(), 0.9);
  const Logs logs = model->evaluate(x, y, 64);
  EXPECT_GT(logs.at("accuracy"), 0.9);
  const Tensor p = model->predict(x, 100);
  EXPECT_EQ(p.shape(), (Shape{600, 3}));
  EXPECT_NEAR(reduce_mean(cast(equal(argmax(p, 1), y), DType::Float64)).item<double>(), logs.at("accuracy"), 1e-9);
}

TEST(Fit, ConciseLinearRegression) {
  // The seed's concise version: Dense(1) + SGD + mean squared error.
  const Tensor features = random_normal({1000, 2}, 0, 1, DType::Float32, 1);
  const Tensor labels = matmul(features, constant({{2.0}, {-3.4}})) + 4.2 + random_normal({1000, 1}, 0, 0.01, DType::Float32, 2);
  auto net = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(1)});
  net->compile(SGD(0.03), MeanSquaredError());
  net->fit(features, labels, quiet(3, 10));
  const auto w = net->weights()[0].to_vector<float>();
  EXPECT_NEAR(w[0], 2.0, 0.01);
  EXPECT_NEAR(w[1], -3.4, 0.01);
  EXPECT_NEAR(net->weights()[1].item<float>(), 4.2, 0.01);
}

TEST(Fit, TwoRunsWithOneSeedAreBitIdentical) {
  auto run = [] {
    set_seed(99);
    auto [x, y] = blobs(256, 3);
    auto model = mlp(0.2);
    model->compile(Adam(0.01), SparseCategoricalCrossentropy(true));
    model->fit(x, y, quiet(3));
    return model->get_weights();
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << i;
}

TEST(Fit, ProgressOutputModes) {
  auto [x, y] = blobs(64, 4);
  auto model = mlp();
  model->compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions o = quiet(2, 16);
  o.verbose = 2;
  ::testing::internal::CaptureStdout();
  model->fit(x, y, o);
  const std::string two = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(two.find("Epoch 1/2 - 4 steps - "), std::string::npos) << two;
  EXPECT_NE(two.find(" - loss: "), std::string::npos);
  EXPECT_LT(two.find("loss"), two.find("accuracy")) << "loss first, as Keras";
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 2) << "one line per epoch";
  o.verbose = 0;
  ::testing::internal::CaptureStdout();
  model->fit(x, y, o);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

TEST(Fit, ErrorsNameTheModel) {
  auto model = mlp();
  expect_error<InvalidArgument>([&] { model->fit(ones({4, 10}), zeros({4})); }, "compile() the model before fit()");
  model->compile("adam", "mse");
  expect_error<ShapeError>([&] { model->fit(ones({4, 10}), zeros({5})); }, "need the same number of examples");
  FitOptions o = quiet(1);
  o.validation_split = 1.5;
  expect_error<InvalidArgument>([&] { model->fit(ones({4, 10}), zeros({4, 3}), o); }, "validation_split must be in [0, 1)");
  expect_error<InvalidArgument>([] { Sequential().compile("adagrad", "mse"); }, "unknown optimizer 'adagrad'");
  expect_error<InvalidArgument>([] { Sequential().compile("sgd", "hinge"); }, "unknown loss 'hinge'");
}

TEST(Callbacks, EarlyStoppingRestoresTheBestWeights) {
  const auto data = blobs(200, 5);
  const Tensor& x = data.first;
  const Tensor& y = data.second;
  auto model = mlp();
  model->compile(SGD(0.5), SparseCategoricalCrossentropy(true));
  // A monitored value that gets worse after epoch 1: stops at patience, restores epoch 1's weights.
  std::vector<std::vector<Tensor>> snapshots;
  auto record = std::make_shared<LambdaCallback>();
  record->epoch_end = [&](Model& m, int, const Logs&) { snapshots.push_back(m.get_weights()); };
  auto fake = std::make_shared<LambdaCallback>();
  int epoch_seen = 0;
  fake->epoch_end = [&](Model&, int epoch, const Logs&) { epoch_seen = epoch; };
  // Adds a made-up "score" to the logs the later callbacks see (fit passes one mutable map).
  struct Score : Callback {
    void on_epoch_end(Model&, int epoch, const Logs& logs) override { const_cast<Logs&>(logs)["score"] = epoch == 1 ? 0.0 : 1.0 + epoch; }
  };
  auto stop = std::make_shared<EarlyStopping>("score", 0.0, 1, "min", true);
  FitOptions o = quiet(10);
  o.callbacks = {std::make_shared<Score>(), record, stop};
  const History h = model->fit(x, y, o);
  EXPECT_EQ(stop->best_epoch(), 1);
  EXPECT_EQ(stop->stopped_epoch(), 3);
  EXPECT_EQ(h.epochs_run(), 4);
  const auto now = model->get_weights();
  for (size_t i = 0; i < now.size(); ++i) EXPECT_EQ(now[i].to_vector<float>(), snapshots[1][i].to_vector<float>());
  // Without stopping early, restore still happens at the end.
  auto patient = std::make_shared<EarlyStopping>("score", 0.0, 100, "min", true);
  snapshots.clear();
  o.epochs = 3;
  o.callbacks = {std::make_shared<Score>(), record, patient};
  model->fit(x, y, o);
  EXPECT_EQ(patient->stopped_epoch(), -1);
  EXPECT_EQ(model->get_weights()[0].to_vector<float>(), snapshots[1][0].to_vector<float>());
  auto bad = std::make_shared<EarlyStopping>("val_nothing");
  o.callbacks = {bad};
  expect_error<InvalidArgument>([&] { model->fit(x, y, o); }, "[EarlyStopping] 'val_nothing' is not in the logs");
}

TEST(Callbacks, CheckpointCsvAndStoppingFromACallback) {
  TempDir dir;
  auto [x, y] = blobs(100, 6);
  auto model = mlp();
  model->compile(SGD(0.1), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
  auto stopper = std::make_shared<LambdaCallback>();
  stopper->epoch_end = [](Model& m, int epoch, const Logs&) { m.stop_training = epoch == 1; };
  FitOptions o = quiet(5);
  o.callbacks = {std::make_shared<ModelCheckpoint>(dir / "w_{epoch}.safetensors", "loss"),
                 std::make_shared<CSVLogger>(dir / "log.csv"), stopper};
  EXPECT_EQ(model->fit(x, y, o).epochs_run(), 2);
  EXPECT_TRUE(fs::exists(dir / "w_1.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "w_2.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "w_3.safetensors"));
  std::ifstream csv(dir / "log.csv");
  std::string header, row1, row2;
  std::getline(csv, header);
  std::getline(csv, row1);
  std::getline(csv, row2);
  EXPECT_EQ(header, "epoch,accuracy,loss");
  EXPECT_EQ(row2.rfind("1,", 0), 0u);
}

TEST(WeightsFiles, SaveLoadStrictAndAtomic) {
  TempDir dir;
  auto a = mlp(), b = mlp();
  a->save_weights(dir / "a.safetensors");
  b->load_weights(dir / "a.safetensors");  // same architecture, other instance: keys are paths
  for (size_t i = 0; i < a->weights().size(); ++i) {
    EXPECT_EQ(a->weights()[i].to_vector<float>(), b->weights()[i].to_vector<float>());
  }
  const auto names = load_safetensors(dir / "a.safetensors");
  EXPECT_TRUE(names.tensors.count("0/kernel") && names.tensors.count("2/bias"));
  EXPECT_EQ(names.metadata.at("name:0/kernel"), a->weights()[0].name());
  // Strict loading reports every problem and changes nothing.
  auto other = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(32, "relu"), std::make_shared<Dense>(4)}, Shape{10});
  const auto before = other->get_weights();
  try {
    other->load_weights(dir / "a.safetensors");
    ADD_FAILURE() << "expected an error";
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("[load_weights]"), std::string::npos) << m;
    EXPECT_NE(m.find("missing: 1/kernel"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected: 2/bias, 2/kernel"), std::string::npos) << m;
  }
  EXPECT_EQ(other->get_weights()[0].to_vector<float>(), before[0].to_vector<float>());
  auto wide = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(16, "relu"), std::make_shared<Dropout>(0.1),
                                                                 std::make_shared<Dense>(3)}, Shape{10});
  expect_error<InvalidArgument>([&] { wide->load_weights(dir / "a.safetensors"); }, "shape mismatch (file vs model): 0/kernel");
  // A truncated file is an I/O error, and a failed save keeps the previous file.
  std::ifstream in(dir / "a.safetensors", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error<IOError>([&] { b->load_weights(dir / "cut.safetensors"); }, "not a valid safetensors file");
  EXPECT_THROW(a->save_weights(dir / "missing_dir/x.safetensors"), IOError);
  expect_error<InvalidArgument>([&] { Sequential().load_weights(dir / "a.safetensors"); }, "has no weights yet");
}

TEST(Checkpoints, ResumingGivesTheUninterruptedResult) {
  TempDir dir;
  auto [x, y] = blobs(128, 8);
  auto make = [] {
    auto m = mlp(0.3);
    m->compile(Adam(0.01), SparseCategoricalCrossentropy(true));
    return m;
  };
  set_seed(5);
  auto straight = make();
  straight->fit(x, y, quiet(4));
  set_seed(5);
  auto first = make();
  FitOptions half = quiet(2);
  first->fit(x, y, half);
  first->save_checkpoint(dir / "ckpt.safetensors", 1);
  auto resumed = make();
  set_seed(12345);  // whatever happened meanwhile, the checkpoint restores the generator
  const int next = resumed->load_checkpoint(dir / "ckpt.safetensors");
  EXPECT_EQ(next, 2);
  FitOptions rest = quiet(4);
  rest.initial_epoch = next;
  resumed->fit(x, y, rest);
  const auto a = straight->get_weights(), b = resumed->get_weights();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << i;
  EXPECT_EQ(resumed->optimizer()->iterations(), straight->optimizer()->iterations());
  expect_error<IOError>([&] { resumed->load_checkpoint(dir / "ckpt_missing.safetensors"); }, "cannot open");
}

}  // namespace
}  // namespace loom::testing
