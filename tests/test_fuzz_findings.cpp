// What the fuzzers found (docs/RELIABILITY.md), each pinned by a test of the fixed behaviour.
#include <climits>

#include "loom/data.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(FuzzFindings, BoolBytesOtherThanZeroAndOneAreTrue) {
  const uint8_t bytes[] = {0, 7, 148, 1};
  const Tensor t = from_host(bytes, sizeof bytes, {4}, DType::Bool);
  EXPECT_EQ(t.to_vector<bool>(), (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(logical_not(t).to_vector<bool>(), (std::vector<bool>{true, false, false, false}));
  // Zero-copy cannot normalise the caller's bytes: it checks them.
  uint8_t wrapped[] = {1, 0, 2};
  expect_error<InvalidArgument>([&] { wrap_host(wrapped, sizeof wrapped, {3}, DType::Bool, nullptr, nullptr); },
                                "[wrap_host] bool data must hold 0 or 1 in each byte; byte 2 is 2");
}

TEST(FuzzFindings, IntegerArithmeticWrapsAroundAsNumPy) {
  const Tensor big = constant(std::vector<int32_t>{INT_MAX, INT_MIN});
  EXPECT_EQ(add(big, constant(std::vector<int32_t>{1, -1})).to_vector<int32_t>(), (std::vector<int32_t>{INT_MIN, INT_MAX}));
  EXPECT_EQ(mul(big, constant(std::vector<int32_t>{2, 2})).to_vector<int32_t>(), (std::vector<int32_t>{-2, 0}));
  EXPECT_EQ(neg(big).to_vector<int32_t>(), (std::vector<int32_t>{-INT_MAX, INT_MIN}));
  EXPECT_EQ(abs(big).to_vector<int32_t>(), (std::vector<int32_t>{INT_MAX, INT_MIN}));
  const Tensor huge = constant(std::vector<int64_t>{LLONG_MAX, 1});
  EXPECT_EQ(reduce_sum(huge).item<int64_t>(), LLONG_MIN);
  const Tensor m = constant(std::vector<int32_t>{INT_MAX, INT_MAX}).reshape({1, 2});
  EXPECT_EQ(matmul(m, constant(std::vector<int32_t>{1, 1}).reshape({2, 1})).item<int32_t>(), -2);
}

TEST(FuzzFindings, IntegerUniformBoundsMustBeWholeNumbers) {
  expect_error<InvalidArgument>([] { random_uniform({4}, 0.2, 0.7, DType::Int32, 1); },
                                "integer minval and maxval must be whole numbers within int32, got 0.2");
  EXPECT_EQ(random_uniform({4}, 0, 1, DType::Int64, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(FuzzFindings, GatherIntoAnEmptyResultStillChecksIndices) {
  const Tensor params = zeros({3, 0});
  EXPECT_EQ(gather(params, constant(std::vector<int64_t>{0, 2})).shape(), (Shape{2, 0}));
  expect_error<InvalidArgument>([&] { gather(params, constant(std::vector<int64_t>{5})); }, "index 5");
}

TEST(FuzzFindings, ClipBoundsOutsideTheDtypeSaturate) {
  const Tensor u = constant(std::vector<uint8_t>{10, 200});
  EXPECT_EQ(clip(u, -5, -2).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(clip(u, 100, 1e300).to_vector<uint8_t>(), (std::vector<uint8_t>{100, 200}));
  EXPECT_EQ(clip(constant({1.5f}), -1e300, 1e300).item<float>(), 1.5f);
}

TEST(FuzzFindings, Conv2DLayerOptionsAreCheckedWhenTheLayerIsMade) {
  nn::Conv2DLayerOptions o;
  o.groups = 0;  // a model file's config divided the input channels by it
  expect_error<InvalidArgument>([&] { nn::Conv2D(4, {3}, o); }, "groups (0) must be >= 1 and divide filters (4)");
  o.groups = 3;
  expect_error<InvalidArgument>([&] { nn::Conv2D(4, {3}, o); }, "groups (3)");
  expect_error<InvalidArgument>([] { nn::Conv2D(4, {0, 3}); }, "kernel size (0, 3) must be at least 1x1");
  const std::string regression = std::string(LOOM_GOLDEN_DIR) + "/../fuzz/regressions/fuzz_model_file/conv2d_groups_zero";
  expect_error<InvalidArgument>([&] { nn::load_model(regression); }, "groups (0)");
}

TEST(FuzzFindings, ShapesWhoseSizeOverflowsAreErrors) {
  expect_error<ShapeError>([] { zeros({int64_t{1} << 40, int64_t{1} << 40}); }, "more elements than fit");
  expect_error<ShapeError>([] { zeros({0, int64_t{1} << 40, int64_t{1} << 40}); }, "more elements than fit");
  const std::string regression = std::string(LOOM_GOLDEN_DIR) + "/../fuzz/regressions/fuzz_idx/stride_overflow";
  expect_error<IOError>([&] { data::read_idx(regression); }, "dimensions too large");
}

}  // namespace
}  // namespace loom::testing
