// Datasets, IDX files, K-fold splits and safetensors files.
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

namespace fs = std::filesystem;

TEST(Dataset, ShardKeepsEveryNthExampleFromTheIndexth) {
  const Tensor y = range(10);
  const auto shard = data::Dataset::from_tensors({y}).shard(3, 1).batch(10).collect();
  ASSERT_EQ(shard.size(), 1u);
  EXPECT_EQ(shard[0][0].to_vector<int64_t>(), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_EQ(data::Dataset::from_tensors({y}).shard(3, 0).cardinality(), 4);
  EXPECT_EQ(data::Dataset::from_tensors({y}).shard(3, 2).cardinality(), 3);
  EXPECT_EQ(data::Dataset::from_tensors({range(1)}).shard(3, 2).cardinality(), 0);
  EXPECT_TRUE(data::Dataset::from_tensors({range(1)}).shard(3, 2).collect().empty());
  EXPECT_EQ(data::Dataset::from_tensors({y}).shard(3, 0).batch(2).cardinality(), 2);
  // Batch i of every shard together holds batch i of the whole data batched 3 times larger.
  std::vector<int64_t> first_batches;
  for (int64_t r = 0; r < 3; ++r) {
    const auto b = data::Dataset::from_tensors({y}).shard(3, r).batch(2).collect()[0][0].to_vector<int64_t>();
    first_batches.insert(first_batches.end(), b.begin(), b.end());
  }
  std::sort(first_batches.begin(), first_batches.end());
  EXPECT_EQ(first_batches, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Dataset, ShardsOfOneShuffledOrderAreDisjointAndCoverAPass) {
  const Tensor y = range(20);
  std::vector<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    const auto v = data::Dataset::from_tensors({y}).shuffle(9).shard(3, r).batch(20).collect()[0][0].to_vector<int64_t>();
    seen.insert(seen.end(), v.begin(), v.end());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, y.to_vector<int64_t>());
  // Sharding then shuffling: each shard keeps its examples, in a new order.
  auto mine = data::Dataset::from_tensors({y}).shard(4, 3).shuffle(2).batch(10).collect()[0][0].to_vector<int64_t>();
  std::sort(mine.begin(), mine.end());
  EXPECT_EQ(mine, (std::vector<int64_t>{3, 7, 11, 15, 19}));
  expect_error<InvalidArgument>([&] { data::Dataset::from_tensors({y}).shard(0, 0); }, "num_shards >= 1");
  expect_error<InvalidArgument>([&] { data::Dataset::from_tensors({y}).shard(2, 2); }, "0 <= index < num_shards, got num_shards=2 index=2");
  expect_error<InvalidArgument>([&] { data::Dataset::from_tensors({y}).batch(2).shard(2, 0); }, "shard before batch");
}

TEST(Dataset, ShuffleBatchRepeatMap) {
  const Tensor x = reshape(cast(range(10), DType::Float32), {10, 1});
  const Tensor y = range(10);
  const auto batches = data::Dataset::from_tensors({x, y}).batch(4).collect();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2][1].to_vector<int64_t>(), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(data::Dataset::from_tensors({x, y}).batch(4, true).cardinality(), 2);
  const auto shuffled = data::Dataset::from_tensors({y}).shuffle(5).batch(10).collect();
  auto values = shuffled[0][0].to_vector<int64_t>();
  EXPECT_NE(values, y.to_vector<int64_t>());
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, y.to_vector<int64_t>()) << "a permutation";
  EXPECT_EQ(data::Dataset::from_tensors({y}).shuffle(5).batch(10).collect()[0][0].to_vector<int64_t>(),
            shuffled[0][0].to_vector<int64_t>()) << "the same seed gives the same order";
  const auto two_passes = data::Dataset::from_tensors({y}).shuffle(5).repeat(2).batch(10).collect();
  ASSERT_EQ(two_passes.size(), 2u);
  EXPECT_NE(two_passes[0][0].to_vector<int64_t>(), two_passes[1][0].to_vector<int64_t>()) << "each pass reshuffles";
  const auto mapped = data::Dataset::from_tensors({x, y}).batch(5).map([](const data::Dataset::Element& e) {
    return data::Dataset::Element{e[0] * 2.0, e[1]};
  }).collect();
  EXPECT_EQ(mapped[1][0].to_vector<float>()[0], 10.0f);
  const auto single = data::Dataset::from_tensors({x}).collect();
  EXPECT_EQ(single.size(), 10u);
  EXPECT_EQ(single[3][0].shape(), (Shape{1}));
  EXPECT_EQ(data::Dataset::from_tensors({y}).repeat().cardinality(), -1);
  expect_error<ShapeError>([&] { data::Dataset::from_tensors({x, range(3)}); }, "[Dataset.from_tensors]");
  expect_error<InvalidArgument>([&] { data::Dataset::from_tensors({y}).batch(0); }, "batch_size must be >= 1");
}

TEST(Idx, RoundTripPlainAndGzipAndErrors) {
  TempDir dir;
  const Tensor images = cast(reshape(range(2 * 3 * 4) % constant(int64_t{256}), {2, 3, 4}), DType::UInt8);
  data::write_idx(dir / "img.idx", images);
  data::write_idx(dir / "img.idx.gz", images);
  expect_tensor_near(data::read_idx(dir / "img.idx"), images, 0, 0);
  expect_tensor_near(data::read_idx(dir / "img.idx.gz"), images, 0, 0);
  EXPECT_LT(fs::file_size(dir / "img.idx.gz"), fs::file_size(dir / "img.idx") + 40);
  const Tensor f = constant({1.5, -2.25});
  data::write_idx(dir / "f.idx", f);
  expect_tensor_near(data::read_idx(dir / "f.idx"), f, 0, 0);
  std::ofstream(dir / "bad.idx", std::ios::binary) << std::string("\x01\x02\x08\x01", 4);
  expect_error<IOError>([&] { data::read_idx(dir / "bad.idx"); }, "bad magic number");
  std::ofstream(dir / "short.idx", std::ios::binary) << std::string("\x00\x00\x08\x01\x00\x00\x00\x05\x01", 9);
  expect_error<IOError>([&] { data::read_idx(dir / "short.idx"); }, "truncated: shape (5,) needs 5 bytes");
  std::ofstream(dir / "type.idx", std::ios::binary) << std::string("\x00\x00\x07\x01\x00\x00\x00\x01\x01", 9);
  expect_error<IOError>([&] { data::read_idx(dir / "type.idx"); }, "unknown data type code 7");
  expect_error<IOError>([&] { data::read_idx(dir / "missing.idx"); }, "cannot open");
}

// load_mnist takes each of the four files plain or gzipped, as people have them on disk.
TEST(Idx, LoadMnistTakesPlainAndGzippedFiles) {
  TempDir dir;
  const Tensor train_images = cast(reshape(range(3 * 28 * 28) % constant(int64_t{251}), {3, 28, 28}), DType::UInt8);
  const Tensor train_labels = cast(constant(std::vector<int64_t>{7, 0, 9}), DType::UInt8);
  const Tensor test_images = cast(reshape(range(2 * 28 * 28) % constant(int64_t{13}), {2, 28, 28}), DType::UInt8);
  const Tensor test_labels = cast(constant(std::vector<int64_t>{4, 1}), DType::UInt8);
  data::write_idx(dir / "train-images-idx3-ubyte", train_images);
  data::write_idx(dir / "train-labels-idx1-ubyte.gz", train_labels);
  data::write_idx(dir / "t10k-images-idx3-ubyte.gz", test_images);
  data::write_idx(dir / "t10k-labels-idx1-ubyte", test_labels);
  const data::MnistData d = data::load_mnist(dir.path.string());
  expect_tensor_near(d.x_train, train_images, 0, 0);
  expect_tensor_near(d.y_train, train_labels, 0, 0);
  expect_tensor_near(d.x_test, test_images, 0, 0);
  expect_tensor_near(d.y_test, test_labels, 0, 0);

  fs::remove(dir / "t10k-labels-idx1-ubyte");
  expect_error<IOError>([&] { data::load_mnist(dir.path.string()); },
                        "neither '" + (dir / "t10k-labels-idx1-ubyte") + "' nor '" + (dir / "t10k-labels-idx1-ubyte") + ".gz' exists");
  data::write_idx(dir / "t10k-labels-idx1-ubyte", cast(constant(std::vector<int64_t>{4, 1, 2}), DType::UInt8));
  expect_error<IOError>([&] { data::load_mnist(dir.path.string()); }, "the test files in");
}

TEST(KFold, DisjointFoldsCoverEverything) {
  const auto [train, valid] = data::k_fold_indices(10, 5, 1);
  EXPECT_EQ(valid.to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(train.numel(), 8);
  std::vector<int64_t> seen;
  for (int64_t fold = 0; fold < 5; ++fold) {
    const auto v = data::k_fold_indices(10, 5, fold).second.to_vector<int64_t>();
    seen.insert(seen.end(), v.begin(), v.end());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, range(10).to_vector<int64_t>());
  const auto parts = data::k_fold_split(reshape(cast(range(20), DType::Float32), {10, 2}), range(10), 5, 4);
  EXPECT_EQ(parts[2].shape(), (Shape{2, 2}));
  EXPECT_EQ(parts[3].to_vector<int64_t>(), (std::vector<int64_t>{8, 9}));
  expect_error<InvalidArgument>([] { data::k_fold_indices(10, 1, 0); }, "[k_fold]");
}

TEST(Safetensors, RoundTripAndCorruptFiles) {
  TempDir dir;
  NamedTensors t;
  t.tensors["a"] = constant({{1.0, 2.0}, {3.0, 4.0}});
  t.tensors["b/c"] = constant({1, 2, 3});
  t.tensors["h"] = cast(constant({0.5, 1.5}), DType::BFloat16);
  t.metadata["who"] = "loom";
  save_safetensors(dir / "t.safetensors", t);
  const NamedTensors back = load_safetensors(dir / "t.safetensors");
  EXPECT_EQ(back.metadata.at("who"), "loom");
  expect_tensor_near(back.tensors.at("a"), t.tensors["a"], 0, 0);
  expect_tensor_near(back.tensors.at("b/c"), t.tensors["b/c"], 0, 0);
  EXPECT_EQ(back.tensors.at("h").dtype(), DType::BFloat16);
  // The layout other tools read: 8-byte little-endian header size, then JSON.
  std::ifstream in(dir / "t.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["a"]["dtype"], "F32");
  EXPECT_EQ(header["a"]["shape"], nlohmann::json({2, 2}));
  for (size_t cut : {size_t{3}, size_t{20}, bytes.size() - 5}) {
    std::ofstream(dir / "cut.safetensors", std::ios::binary) << bytes.substr(0, cut);
    EXPECT_THROW(load_safetensors(dir / "cut.safetensors"), IOError) << "cut at " << cut;
  }
  std::string garbage = bytes;
  garbage[8] = '#';  // the header's opening brace
  std::ofstream(dir / "bad.safetensors", std::ios::binary) << garbage;
  expect_error<IOError>([&] { load_safetensors(dir / "bad.safetensors"); }, "does not start with '{'");
  garbage[8] = '{';
  garbage[9] = ']';
  std::ofstream(dir / "bad.safetensors", std::ios::binary) << garbage;
  expect_error<IOError>([&] { load_safetensors(dir / "bad.safetensors"); }, "header is not JSON");
}

}  // namespace
}  // namespace loom::testing
