// .npy compatibility with NumPy (files from tests/golden/make_npy.py) and error paths.
#include <filesystem>
#include <fstream>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(LOOM_GOLDEN_DIR) + "/npy/";

std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / ("loom_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

// The pattern make_npy.py writes: arange(n) in the dtype (bool: odd positions true).
Tensor pattern(const Shape& shape, DType dtype) {
  const Tensor r = cast(range(shape.numel()), DType::Int64);
  const Tensor v = dtype == DType::Bool ? equal(r % constant(int64_t{2}), constant(int64_t{1})) : cast(r, dtype);
  return reshape(v, shape);
}

TEST(Npy, LoadsWhatNumPyWroteAndWritesTheSameBytes) {
  const fs::path dir = temp_dir();
  for (const char* name : {"float32", "float64", "int32", "int64", "bool", "uint8", "float16"}) {
    SCOPED_TRACE(name);
    const DType dtype = dtype_from_name(name);
    const std::string golden = kDir + name + "_2x3.npy";
    const Tensor t = load_npy(golden);
    expect_tensor_near(t, pattern({2, 3}, dtype), 0, 0);
    const std::string mine = (dir / (std::string(name) + ".npy")).string();
    save_npy(mine, pattern({2, 3}, dtype));
    EXPECT_EQ(bytes_of(mine), bytes_of(golden));
  }
  for (const auto& [file, shape] : std::vector<std::pair<std::string, Shape>>{
           {"float32_scalar", Shape{}}, {"float32_empty", Shape{0, 4}}, {"int64_vector", Shape{5}}}) {
    SCOPED_TRACE(file);
    const DType dtype = file.rfind("int64", 0) == 0 ? DType::Int64 : DType::Float32;
    expect_tensor_near(load_npy(kDir + file + ".npy"), pattern(shape, dtype), 0, 0);
    const std::string mine = (dir / (file + ".npy")).string();
    save_npy(mine, pattern(shape, dtype));
    EXPECT_EQ(bytes_of(mine), bytes_of(kDir + file + ".npy"));
  }
  fs::remove_all(dir);
}

TEST(Npy, FortranOrderAndBigEndian) {
  expect_tensor_near(load_npy(kDir + "float64_fortran.npy"), pattern({3, 4}, DType::Float64), 0, 0);
  expect_tensor_near(load_npy(kDir + "int32_bigendian.npy"), pattern({2, 3}, DType::Int32), 0, 0);
}

TEST(Npy, RoundTripOfNonContiguousTensor) {
  const fs::path dir = temp_dir();
  const Tensor t = transpose(reshape(cast(range(6), DType::Float32), {2, 3}));
  save_npy((dir / "t.npy").string(), t);
  expect_tensor_near(load_npy((dir / "t.npy").string()), t.contiguous(), 0, 0);
  fs::remove_all(dir);
}

TEST(Npy, ErrorsNameTheFileAndTheProblem) {
  const fs::path dir = temp_dir();
  expect_error<IOError>([&] { load_npy((dir / "missing.npy").string()); }, "[load_npy] cannot open");
  expect_error<DTypeError>([&] { load_npy(kDir + "complex64.npy"); }, "NumPy dtype '<c8'");
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return (dir / name).string();
  };
  expect_error<IOError>([&] { load_npy(write("magic.npy", "not a numpy file")); }, "bad magic");
  std::vector<char> good = bytes_of(kDir + "float32_2x3.npy");
  const std::string truncated(good.begin(), good.end() - 5);
  expect_error<IOError>([&] { load_npy(write("short.npy", truncated)); }, "is truncated: shape (2, 3) needs 24 bytes");
  std::string header(good.begin(), good.end());
  header.replace(header.find("(2, 3)"), 6, "(2, x)");
  expect_error<IOError>([&] { load_npy(write("shape.npy", header)); }, "bad shape");
  expect_error<IOError>([&] { load_npy(dir.string()); }, "cannot read");
  expect_error<DTypeError>([&] { save_npy((dir / "b.npy").string(), cast(ones({2}), DType::BFloat16)); },
                           "bfloat16 has no NumPy dtype");
  expect_error<IOError>([&] { save_npy("/nonexistent_dir/x.npy", ones({2})); }, "[save_npy] cannot create");
  fs::remove_all(dir);
}

TEST(Npy, FailedSaveKeepsTheOldFile) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "keep.npy").string();
  save_npy(path, ones({3}));
  const auto before = bytes_of(path);
  EXPECT_THROW(save_npy(path, cast(ones({3}), DType::BFloat16)), DTypeError);
  EXPECT_EQ(bytes_of(path), before);
  // Only the target remains: no temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loom::testing
