// Size arithmetic that never wraps and files held to their format's rules (docs/RELIABILITY.md).
#include <cstring>
#include <fstream>
#include <limits>

#include "loom/io.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

constexpr int64_t kTwoTo62 = int64_t{1} << 62;

// Every digit string of a wrapped 2^64 or 2^63 product the old code printed.
void expect_no_wrapped_number(const std::string& message) {
  for (const char* wrapped : {"(0 bytes)", "18446744073709551615", "-9223372036854775808"}) {
    EXPECT_EQ(message.find(wrapped), std::string::npos) << message;
  }
}

TEST(Sizes, AViewWhoseBytesExceedTheLimitIsRefusedAtCreation) {
  const Tensor one = constant({1.0f});
  try {
    broadcast_to(one, {kTwoTo62});  // 2^62 float32 elements: 2^64 bytes
    ADD_FAILURE() << "a 2^64-byte view was created";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[broadcast_to] shape (4611686018427387904,) of float32 "
                                         "(4611686018427387904 elements) needs more than "
                                         "9223372036854775807 bytes, the limit of one tensor"),
              std::string::npos)
        << e.what();
    expect_no_wrapped_number(e.what());
  }
  // 2^64 elements do not even have a count.
  expect_error<ShapeError>([&] { broadcast_to(one, {int64_t{1} << 32, int64_t{1} << 32}); },
                           "[broadcast_to] shape (4294967296, 4294967296) has more elements than fit in a 64-bit count");
  // 2^61 float32 elements (2^63 bytes) is one byte past the limit too; 2^60 are allowed as a view.
  expect_error<ShapeError>([&] { broadcast_to(one, {int64_t{1} << 61}); }, "the limit of one tensor");
  const Tensor view = broadcast_to(one, {int64_t{1} << 60});
  EXPECT_EQ(view.nbytes(), size_t{1} << 62);
}

TEST(Sizes, HostCopiesAndCreationNameTheShapeNotAWrappedCount) {
  const Tensor view = broadcast_to(constant({1.0f}), {int64_t{1} << 60});
  try {
    float x = 0;
    view.copy_to_host(&x, 0);
    ADD_FAILURE() << "copied 2^62 bytes into 0";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("buffer of 0 bytes does not match 1152921504606846976 float32 elements of "
                                         "shape (1152921504606846976,) (4611686018427387904 bytes)"),
              std::string::npos)
        << e.what();
  }
  // As float64 the same view has 2^63 bytes: past the limit, said as such.
  expect_error<ShapeError>([&] { double x; view.copy_to_host_as(DType::Float64, &x, 8); },
                           "[copy_to_host] shape (1152921504606846976,) of float64");
  float x = 0;
  expect_error<ShapeError>([&] { from_host(&x, 0, {kTwoTo62}, DType::Float32); }, "[from_host] shape");
  expect_error<ShapeError>([&] { wrap_host(&x, 0, {kTwoTo62}, DType::Float32, nullptr, nullptr); },
                           "[wrap_host] shape");
  expect_error<ShapeError>([] { zeros({kTwoTo62}, DType::Float64); }, "the limit of one tensor");
  expect_error<ShapeError>([] { zeros({3, -1}); }, "[fill] dimensions must be >= 0, got (3, -1)");
  // An empty shape still needs strides that fit (as NumPy's "array is too big").
  expect_error<ShapeError>([] { zeros({0, int64_t{1} << 40, int64_t{1} << 40}); }, "more elements than fit");
  EXPECT_EQ(zeros({0, int64_t{1} << 30}).nbytes(), 0u);
}

TEST(Sizes, ReshapeCountsWithoutWrapping) {
  const Tensor t = zeros({4});
  // 2^32 * 2^32 wraps to 0 in 64 bits; it must not look like a match for a 0-element tensor.
  expect_error<ShapeError>([] { reshape(zeros({0}), {int64_t{1} << 32, int64_t{1} << 32}); },
                           "exceeds a 64-bit count");
  expect_error<ShapeError>([&] { reshape(t, {-1, int64_t{1} << 62, 4}); }, "exceeds a 64-bit count");
  EXPECT_EQ(reshape(t, {2, -1}).shape(), (Shape{2, 2}));
}

TEST(Sizes, ViewsMustStayInsideTheirStorage) {
  const Tensor t = zeros({2, 3});
  expect_error<ShapeError>([&] { make_view(t, {2, 3}, {3, 1}, 1, "test_view"); },
                           "[test_view] a view of shape (2, 3), strides (3, 1) and offset 1 addresses elements 1 "
                           "to 6 of a storage that holds 6 float32 elements");
  expect_error<ShapeError>([&] { make_view(t, {2}, {-1}, 0, "test_view"); }, "addresses elements -1 to 0");
  expect_error<ShapeError>([&] { make_view(t, {3}, {std::numeric_limits<int64_t>::max()}, 0, "test_view"); },
                           "beyond a 64-bit offset");
  expect_error<ShapeError>([&] { make_view(t, {3}, {1, 1}, 0, "test_view"); }, "a stride per axis missing");
  // A view that fits, including a reversed one and an empty one anywhere.
  EXPECT_EQ(make_view(t, {3}, {-1}, 2).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(make_view(t, {0, 5}, {100, 100}, 1000).numel(), 0);
}

// A safetensors file from its parts: header size, JSON header, data.
void write_safetensors(const std::string& path, const std::string& header, size_t data_bytes,
                       uint64_t declared_header_size = 0) {
  const uint64_t n = declared_header_size ? declared_header_size : header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Safetensors, EachRuleOfTheFormatHasAnError) {
  TempDir dir;
  const std::string path = dir / "crafted.safetensors";
  struct Case {
    std::string header;
    size_t data_bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "tensor 'b' starts at byte 4 of the data, expected 8 (it overlaps another tensor)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
       20, "tensor 'b' starts at byte 12 of the data, expected 8 (a gap)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, "expected 0 (a gap)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 12, "4 bytes after the last tensor belong to no tensor"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8,
       "tensor 'a' spans bytes [0, 8) but shape (3,) of float32 needs 12"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "spans bytes [8, 0)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       16, "the header names 'a' twice"},
      {R"({"__metadata__":{"k":1}})", 0, "metadata 'k' is not a string"},
      {R"({"__metadata__":["k"]})", 0, "__metadata__ is not an object"},
      {R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", 8,
       "more elements than fit in a 64-bit count"},
      {R"({"a":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,8]}})", 8, "the limit of one tensor"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "tensor 'a' has a bad shape [-2]"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 8, "tensor 'a' has bad data_offsets [0,-8]"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, "entry 'a' lacks dtype, shape or data_offsets"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "beyond the 8 data bytes (truncated?)"},
      {R"(["a"])", 0, "the header does not start with '{'"},
      {R"( {})", 0, "the header does not start with '{'"},
  };
  for (const Case& c : cases) {
    write_safetensors(path, c.header, c.data_bytes);
    expect_error<IOError>([&] { load_safetensors(path); }, c.error);
  }
  write_safetensors(path, "{}", 0, 100'000'001);
  expect_error<IOError>([&] { load_safetensors(path); }, "header size 100000001 exceeds the limit of 100000000 bytes");
  write_safetensors(path, R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1);
  expect_error<DTypeError>([&] { load_safetensors(path); }, "tensor 'a' has unsupported dtype \"F8_E4M3\"");
}

TEST(Safetensors, FilesThatFollowTheRulesLoad) {
  TempDir dir;
  const std::string path = dir / "crafted.safetensors";
  // Any order in the header; empty tensors anywhere; the writer's trailing spaces in the header.
  write_safetensors(path,
                    R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"e":{"dtype":"F32","shape":[0,3],)"
                    R"("data_offsets":[8,8]},"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
                    R"("__metadata__":{"format":"pt"}}   )",
                    12);
  const NamedTensors t = load_safetensors(path);
  EXPECT_EQ(t.tensors.at("a").shape(), Shape{});
  EXPECT_EQ(t.tensors.at("a").item<double>(), 0.0);
  EXPECT_EQ(t.tensors.at("b").dtype(), DType::Int32);
  EXPECT_EQ(t.tensors.at("e").shape(), (Shape{0, 3}));
  EXPECT_EQ(t.metadata.at("format"), "pt");
}

// Each op family's shape errors name the user's operands with their full shapes, also in the
// batched and broadcast cases (not internal intermediate shapes).
TEST(ShapeErrors, NameEveryOperandWithItsFullShape) {
  const auto z = [](Shape s) { return zeros(s); };
  const Tensor mask = cast(z({2, 3}), DType::Bool);
  expect_error<ShapeError>([&] { add(z({5, 2, 3}), z({4, 1, 3})); },
                           "[add] a (5, 2, 3) and b (4, 1, 3) are not broadcastable (axis 0: 5 vs 4)");
  expect_error<ShapeError>([&] { less(z({2}), z({3})); }, "[less] a (2,) and b (3,) are not broadcastable");
  expect_error<ShapeError>([&] { where(mask, z({3}), z({4})); },
                           "[where] condition (2, 3), x (3,) and y (4,) are not broadcastable (axis 1: 3 vs 3 vs 4)");
  expect_error<ShapeError>([&] { matmul(z({2, 3, 4}), z({3, 4, 5})); },
                           "[matmul] the batch dimensions of (2, 3, 4) and (3, 4, 5) do not broadcast");
  expect_error<ShapeError>([&] { matmul(z({2, 3, 4}), z({2, 5, 5})); },
                           "[matmul] inner dimensions differ: (2, 3, 4) @ (2, 5, 5) (4 vs 5)");
  expect_error<ShapeError>([&] { dense(z({7, 4, 3}), z({5, 2})); }, "[dense] input (7, 4, 3) does not match kernel (5, 2)");
  expect_error<ShapeError>([&] { conv2d(z({1, 5, 5, 3}), z({3, 3, 2, 8})); },
                           "input (1, 5, 5, 3) has 3 channels, filter (3, 3, 2, 8) expects 2");
  expect_error<ShapeError>([&] { conv2d(z({1, 2, 2, 3}), z({3, 3, 3, 8})); },
                           "with valid padding (input (1, 2, 2, 3), filter (3, 3, 3, 8))");
  Pool2DOptions pool;
  pool.window = {4, 4};
  expect_error<ShapeError>([&] { max_pool2d(z({2, 3, 3, 1}), pool); }, "(input (2, 3, 3, 1), window (4, 4))");
  expect_error<ShapeError>([&] { concat({z({2, 3}), z({2, 3}), z({3, 4})}, 1); },
                           "[concat] values[2] (3, 4) does not match values[0] (2, 3) along the axes other than 1");
  expect_error<ShapeError>([&] { stack({z({2, 3}), z({2, 4})}); }, "got values[0] (2, 3) and values[1] (2, 4)");
  expect_error<ShapeError>([&] { batch_norm_inference(z({2, 3}), z({3}), z({3}), z({4}), z({3})); },
                           "[batch_norm_inference] mean (4,) must have shape (3,) (one value per channel of x (2, 3))");
  expect_error<ShapeError>([&] { softmax_cross_entropy_with_logits(z({4, 5}), z({4, 6})); },
                           "labels (4, 5) float32 must match logits (4, 6) float32");
  expect_error<ShapeError>([&] { (*nn::MeanSquaredError())(z({5, 4, 2}), z({4, 3})); },
                           "y_true (5, 4, 2) does not fit y_pred (4, 3)");
  expect_error<DTypeError>([&] { add(z({2}), zeros({2}, DType::Float64)); },
                           "[add] dtype mismatch: a is float32, b is float64");
}

}  // namespace
}  // namespace loom::testing
