// Keras' HDF5 weight files (save_weights / load_weights with a .h5 path), checked against h5py:
// what loom writes reads back with Keras' layout, and what h5py writes in that layout loads.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/external_tools.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;
using nlohmann::json;

// A small CNN: Conv2D, BatchNormalization, MaxPool2D, Flatten, Dense (named by loom).
std::shared_ptr<Sequential> small_cnn() {
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{}, Shape{6, 6, 1});
  Conv2DLayerOptions o;
  o.activation = "relu";
  model->add(std::make_shared<Conv2D>(2, std::vector<int64_t>{3, 3}, o));
  model->add(std::make_shared<BatchNormalization>());
  model->add(std::make_shared<MaxPool2D>());
  model->add(std::make_shared<Flatten>());
  model->add(std::make_shared<Dense>(3));
  return model;
}

json dump(const std::string& path) {
  const CommandResult r = run_python_script("keras_h5.py", {"dump", path});
  EXPECT_EQ(r.status, 0) << r.output;
  return json::parse(r.output);
}

// The values keras_h5.py writes: ((7 i + offset) % 101) / 100 - 0.5.
Tensor written_values(const Shape& shape, int offset) {
  std::vector<double> v;
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  for (int64_t i = 0; i < count; ++i) v.push_back(static_cast<double>((7 * i + offset) % 101) / 100.0 - 0.5);
  return cast(constant(v, shape, DType::Float64), DType::Float32);
}

// keras_h5.py's spec of a layer and of a weight (JSON arrays, in order).
json layer(const std::string& name, std::vector<json> weights = {}) { return json::array({name, json(weights)}); }
json weight(const std::string& name, const std::vector<int64_t>& shape, int offset) {
  return json::array({name, shape, offset});
}

void write_keras(const std::string& path, const json& spec) {
  const CommandResult r = run_python_script("keras_h5.py", {"write", path, spec.dump()});
  ASSERT_EQ(r.status, 0) << r.output;
}

// The tests that check files with h5py (tests/interop/keras_h5.py) skip, saying why, without it.
class KerasH5ByH5py : public ::testing::Test {
 protected:
  void SetUp() override { LOOM_SKIP_IF_MISSING(missing_python_module("h5py")); }
};

TEST_F(KerasH5ByH5py, LoomWritesKerasLayoutThatH5pyReads) {
  TempDir dir;
  set_seed(5);
  const auto model = small_cnn();
  model->save_weights(dir / "w.h5");
  const json file = dump(dir / "w.h5");
  std::vector<std::string> names;
  for (const LayerPtr& l : model->layers()) names.push_back(l->name());
  EXPECT_EQ(file["layer_names"].get<std::vector<std::string>>(), names);
  EXPECT_EQ(file["attrs"]["backend"], "loom");
  const std::string conv = names[0], bn = names[1], dense = names[4];
  EXPECT_EQ(file["layers"][conv]["weight_names"].get<std::vector<std::string>>(),
            (std::vector<std::string>{conv + "/kernel:0", conv + "/bias:0"}));
  EXPECT_EQ(file["layers"][bn]["weight_names"].get<std::vector<std::string>>(),
            (std::vector<std::string>{bn + "/gamma:0", bn + "/beta:0", bn + "/moving_mean:0", bn + "/moving_variance:0"}));
  EXPECT_TRUE(file["layers"][names[3]]["weight_names"].empty());  // Flatten: listed, without weights
  // Datasets sit at "<layer>/<weight name>", the weight name's own "/" making a group, as h5py does.
  const auto datasets = file["datasets"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(datasets.begin(), datasets.end(), conv + "/" + conv + "/kernel:0"), datasets.end());
  EXPECT_EQ(datasets.size(), 8u);
  // Values and shapes as loom holds them (Keras' layouts: HWIO kernels, Dense (in, out)).
  size_t checked = 0;
  for (const LayerPtr& l : model->layers()) {
    for (const Variable& v : l->weights()) {
      const json& w = file["layers"][l->name()]["weights"][v.name() + ":0"];
      EXPECT_EQ(w["dtype"], "float32");
      EXPECT_EQ(Shape(w["shape"].get<std::vector<int64_t>>()), v.shape());
      expect_tensor_near(constant(w["values"].get<std::vector<double>>(), v.shape()), v, 0, 0, v.name());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8u);
  EXPECT_EQ(dir.entries(), 1u);  // no temporary file left
}

TEST_F(KerasH5ByH5py, FilesH5pyWritesInKerasLayoutLoad) {
  TempDir dir;
  const auto model = small_cnn();
  // Keras' own names (not loom's), weightless layers listed too, names chunked and variable-length.
  for (const bool variants : {false, true}) {
    SCOPED_TRACE(variants ? "chunked layer names, variable-length weight names" : "plain");
    json spec = {{"chunk_layer_names", variants}, {"variable_length", variants}};
    spec["layers"] = json::array(
        {layer("conv2d_7", {weight("conv2d_7/kernel:0", {3, 3, 1, 2}, 1), weight("conv2d_7/bias:0", {2}, 2)}),
         layer("batch_normalization_3",
               {weight("batch_normalization_3/gamma:0", {2}, 3), weight("batch_normalization_3/beta:0", {2}, 4),
                weight("batch_normalization_3/moving_mean:0", {2}, 5),
                weight("batch_normalization_3/moving_variance:0", {2}, 6)}),
         layer("max_pooling2d_3"), layer("flatten_3"),
         layer("dense_9", {weight("dense_9/kernel:0", {8, 3}, 7), weight("dense_9/bias:0", {3}, 8)})});
    write_keras(dir / "keras.h5", spec);
    model->load_weights(dir / "keras.h5");
    const std::vector<Variable> w = model->weights();
    const std::vector<Shape> shapes = {{3, 3, 1, 2}, {2}, {2}, {2}, {2}, {2}, {8, 3}, {3}};
    ASSERT_EQ(w.size(), shapes.size());
    for (size_t i = 0; i < w.size(); ++i) expect_tensor_near(w[i], written_values(shapes[i], static_cast<int>(i) + 1), 0, 0, w[i].name());
  }
}

TEST(KerasH5, AModelRoundTripsThroughH5) {
  TempDir dir;
  set_seed(8);
  const auto a = small_cnn();
  set_seed(9);
  const auto b = small_cnn();
  const Tensor x = random_normal({4, 6, 6, 1}, 0, 1, DType::Float32, 3);
  a->save_weights(dir / "a.hdf5");
  b->load_weights(dir / "a.hdf5");
  expect_tensor_near(b->predict(x), a->predict(x), 0, 0);
}

// Threads may save and load at once (Debian's HDF5 is built thread-safe and serializes its calls).
TEST(KerasH5, ThreadsSaveAndLoadAtOnce) {
  TempDir dir;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      try {
        const auto a = small_cnn();
        const auto b = small_cnn();
        const std::string path = dir / ("w" + std::to_string(t) + ".h5");
        for (int i = 0; i < 20; ++i) {
          for (const Variable& v : a->weights()) Variable(v).assign(fill_like(v, t * 100 + i));
          a->save_weights(path);
          b->load_weights(path);
          for (const Variable& v : b->weights()) {
            if (reduce_max(abs(Tensor(v) - (t * 100.0 + i))).item<double>() != 0) ++failures;
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "thread " << t << ": " << e.what();
        ++failures;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(KerasH5, MismatchesAreReportedAsForSafetensors) {
  TempDir dir;
  set_seed(1);
  const auto model = small_cnn();
  model->save_weights(dir / "cnn.h5");
  // One more Dense: the file has no layer for it.
  auto longer = small_cnn();
  longer->add(std::make_shared<Dense>(2, DenseOptions{.name = "extra"}));
  expect_error<InvalidArgument>([&] { longer->load_weights(dir / "cnn.h5"); },
                                "[load_weights] '" + (dir / "cnn.h5") + "' does not match the model: missing: layer 'extra';");
  longer->load_weights(dir / "cnn.h5", false);  // non-strict: the layers that are there load
  expect_tensor_near(longer->weights()[0], model->weights()[0], 0, 0);
  // One layer fewer: the file's last layer is unexpected.
  auto shorter = std::make_shared<Sequential>(std::vector<LayerPtr>{}, Shape{6, 6, 1});
  shorter->add(std::make_shared<Conv2D>(2, std::vector<int64_t>{3, 3}));
  expect_error<InvalidArgument>([&] { shorter->load_weights(dir / "cnn.h5"); }, "unexpected: layer '");
  // Another kernel size: a shape mismatch, also when not strict; nothing is assigned then.
  auto wider = std::make_shared<Sequential>(std::vector<LayerPtr>{}, Shape{6, 6, 1});
  wider->add(std::make_shared<Conv2D>(2, std::vector<int64_t>{2, 2}));
  const Tensor kept = wider->weights()[0].clone();
  expect_error<InvalidArgument>([&] { wider->load_weights(dir / "cnn.h5", false); }, "shape mismatch (file vs model): ");
  expect_tensor_near(wider->weights()[0], kept, 0, 0);
}

TEST(KerasH5, MalformedFilesAreCleanErrors) {
  TempDir dir;
  const auto model = small_cnn();
  expect_error<IOError>([&] { model->load_weights(dir / "missing.h5"); }, "[load_weights] cannot open");
  std::ofstream(dir / "text.h5") << "not an HDF5 file at all";
  expect_error<IOError>([&] { model->load_weights(dir / "text.h5"); }, "is not a Keras HDF5 weight file: it is no HDF5 file");
  model->save_weights(dir / "good.h5");
  {
    std::ifstream in(dir / "good.h5", std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::ofstream(dir / "truncated.h5", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_error<IOError>([&] { model->load_weights(dir / "truncated.h5"); }, "is not a Keras HDF5 weight file");
  expect_error<IOError>([&] { model->save_weights(dir / "no/such/dir/w.h5"); }, "[save_weights] cannot create the file");
}

TEST_F(KerasH5ByH5py, HdfFilesWithoutKerasLayoutAreCleanErrors) {
  TempDir dir;
  const auto model = small_cnn();
  const auto plain = run_command(LOOM_PYTHON, {"-c", "import h5py, sys; h5py.File(sys.argv[1], 'w')['x'] = [1.0]", dir / "plain.h5"});
  ASSERT_EQ(plain.status, 0) << plain.output;
  expect_error<IOError>([&] { model->load_weights(dir / "plain.h5"); }, "it has no attribute 'layer_names'");
  json dangling;
  dangling["layers"] = json::array({layer("dense", {weight("dense/kernel:0", {2}, 0)})});
  write_keras(dir / "dangling.h5", dangling);
  const auto drop = run_command(LOOM_PYTHON, {"-c", "import h5py, sys; del h5py.File(sys.argv[1], 'a')['dense/dense/kernel:0']", dir / "dangling.h5"});
  ASSERT_EQ(drop.status, 0) << drop.output;
  expect_error<IOError>([&] { model->load_weights(dir / "dangling.h5"); },
                        "layer 'dense' lists weight 'dense/kernel:0', which is no dataset in its group");
  // Attributes and datasets of the wrong kind: numbers for names, text for weights.
  const auto numbers = run_command(LOOM_PYTHON, {"-c", "import h5py, sys; h5py.File(sys.argv[1], 'w').attrs['layer_names'] = [1.0, 2.0]",
                                                 dir / "numbers.h5"});
  ASSERT_EQ(numbers.status, 0) << numbers.output;
  expect_error<IOError>([&] { model->load_weights(dir / "numbers.h5"); }, "attribute 'layer_names' holds no strings");
  json text;
  text["layers"] = json::array({layer("conv2d", {weight("conv2d/kernel:0", {3, 3, 1, 2}, 0), weight("conv2d/bias:0", {2}, 0)})});
  write_keras(dir / "text.h5", text);
  const auto replace = run_command(
      LOOM_PYTHON, {"-c", "import h5py, sys; g = h5py.File(sys.argv[1], 'a')['conv2d']; del g['conv2d/bias:0']; g['conv2d/bias:0'] = [b'a', b'b']",
                    dir / "text.h5"});
  ASSERT_EQ(replace.status, 0) << replace.output;
  expect_error<IOError>([&] { model->load_weights(dir / "text.h5", false); }, "weight 'conv2d/bias:0' of layer 'conv2d' holds no numbers");
}

}  // namespace
}  // namespace loom::testing
