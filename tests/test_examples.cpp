// The examples as a user runs them: fashion_mnist on a small synthetic IDX fixture (no network).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  *status = p ? pclose(p) : -1;
  return out;
}

// Ten classes of 28x28 images: class c lights up row band c, plus noise. `suffix` "" writes
// plain IDX files, ".gz" gzipped ones: the main job takes both.
void write_fixture(const fs::path& dir, const std::string& prefix, int64_t n, uint64_t seed, const std::string& suffix) {
  const Tensor labels = random_uniform({n}, 0, 10, DType::Int64, seed);
  const Tensor rows = reshape(cast(range(28), DType::Int64), {1, 28, 1});
  const Tensor band = cast(equal(floor_div(rows, constant(int64_t{3})), reshape(labels, {n, 1, 1})), DType::Float32);
  const Tensor noise = random_uniform({n, 28, 28}, 0, 60, DType::Float32, seed + 1);
  const Tensor images = cast(band * 180.0 + noise, DType::UInt8);
  data::write_idx((dir / (prefix + "-images-idx3-ubyte" + suffix)).string(), images);
  data::write_idx((dir / (prefix + "-labels-idx1-ubyte" + suffix)).string(), cast(labels, DType::UInt8));
}

TEST(Examples, FashionMnistTrainsOnAFixture) {
  const fs::path dir = fs::temp_directory_path() / ("loom_fm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_fixture(dir, "train", 600, 1, "");
  write_fixture(dir, "t10k", 200, 3, ".gz");
  for (const char* model : {"mlp", "bn-lenet"}) {
    SCOPED_TRACE(model);
    const std::string json = (dir / (std::string(model) + ".json")).string();
    const std::string weights = (dir / (std::string(model) + ".safetensors")).string();
    int status = 0;
    const std::string out = run(std::string(LOOM_EXAMPLES_DIR) + "/fashion_mnist --data " + dir.string() + " --model " + model +
                                    " --epochs 2 --batch-size 32 --threads 1 --json " + json + " --save " + weights,
                                &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("epoch 1: train_loss "), std::string::npos) << out;
    EXPECT_NE(out.find(" test_acc "), std::string::npos) << out;
    EXPECT_NE(out.find("Epoch 2/2"), std::string::npos) << out;
    std::ifstream in(json);
    const auto report = nlohmann::json::parse(in);
    EXPECT_EQ(report.at("epochs").size(), 2u);
    EXPECT_GT(report.at("test_acc").get<double>(), 0.8) << "the fixture's classes are easy to tell apart";
    EXPECT_FALSE(load_safetensors(weights).tensors.empty());
  }
  int status = 0;
  const std::string out = run(std::string(LOOM_EXAMPLES_DIR) + "/fashion_mnist --data " + (dir / "nowhere").string(), &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("[load_mnist] neither '" + (dir / "nowhere" / "train-images-idx3-ubyte").string() + "' nor '"),
            std::string::npos) << out;
  const std::string usage = run(std::string(LOOM_EXAMPLES_DIR) + "/fashion_mnist --model alexnet", &status);
  EXPECT_NE(usage.find("unknown model 'alexnet'"), std::string::npos) << usage;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loom::testing
