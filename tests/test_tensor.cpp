// Tensor core: creation, dtypes, views, host access, printing and their error paths.
#include <cmath>
#include <sstream>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(Creation, ConstantFromNestedLists) {
  const Tensor x = constant({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(x.shape(), (Shape{2, 3}));
  EXPECT_EQ(x.dtype(), DType::Int64);  // integers default to int64
  EXPECT_EQ(x.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  const Tensor y = constant({{{1.5}, {2.5}}, {{3.5}, {4.5}}});
  EXPECT_EQ(y.shape(), (Shape{2, 2, 1}));
  EXPECT_EQ(y.dtype(), DType::Float32);  // floats default to float32
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f}));
  EXPECT_EQ(constant(7.0, DType::Float64).dtype(), DType::Float64);
  EXPECT_EQ(constant(true).item<bool>(), true);
  expect_error<ShapeError>([] { constant({{1, 2}, {3}}); }, "not rectangular");
  expect_error<ShapeError>([] { constant(std::vector<float>{1, 2, 3}, Shape{2, 2}); }, "do not fill");
}

TEST(Creation, SeedExampleRangeAndReshape) {
  const Tensor x = range(12);
  EXPECT_EQ(x.shape(), (Shape{12}));
  EXPECT_EQ(x.dtype(), DType::Int64);
  EXPECT_EQ(x.reshape({3, 4}).shape(), (Shape{3, 4}));
  EXPECT_EQ(x.reshape({-1, 4}).shape(), (Shape{3, 4}));
  EXPECT_EQ(x.reshape({3, -1}).shape(), (Shape{3, 4}));
  EXPECT_EQ(x.reshape({3, 4}).index({1, 2}).item<int64_t>(), 6);
  expect_error<ShapeError>([&] { x.reshape({5, -1}); }, "[reshape] cannot reshape (12,)");
}

TEST(Creation, ZerosOnesFillLikeAndEye) {
  EXPECT_EQ(zeros({2, 3}).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({2}, DType::Int32).to_vector<int32_t>(), (std::vector<int32_t>{1, 1}));
  const Tensor f = fill({2, 2}, 2.5, DType::Float64);
  EXPECT_EQ(f.to_vector<double>(), std::vector<double>(4, 2.5));
  EXPECT_EQ(zeros_like(f).dtype(), DType::Float64);
  EXPECT_EQ(ones_like(f).to_vector<double>(), std::vector<double>(4, 1.0));
  EXPECT_EQ(fill_like(f, -1).to_vector<double>(), std::vector<double>(4, -1.0));
  EXPECT_EQ(eye(2, 3).to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(linspace(0, 1, 5).to_vector<float>(), (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1}));
  EXPECT_EQ(arange(1, 2, 0.5, DType::Float64).to_vector<double>(), (std::vector<double>{1, 1.5}));
  expect_error<ShapeError>([] { zeros({2, -1}); }, "[fill] dimensions must be >= 0");
  // One-element tensors (gradient seeds) take a host path: the fill op's values, shape and dtype.
  for (const DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::UInt8,
                            DType::Float16, DType::BFloat16}) {
    for (const Shape& shape : {Shape{}, Shape{1, 1}}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + shape.str());
      const Tensor one = ones_like(zeros(shape, dtype));
      EXPECT_EQ(one.shape(), shape);
      EXPECT_EQ(one.dtype(), dtype);
      EXPECT_EQ(cast(one, DType::Float64).to_vector<double>(), std::vector<double>{1.0});
      EXPECT_EQ(cast(fill_like(one, 2.5), DType::Float64).to_vector<double>(),
                cast(fill(shape, 2.5, dtype), DType::Float64).to_vector<double>());
    }
  }
}

TEST(Creation, FromHostAndWrapHost) {
  const std::vector<double> data = {1, 2, 3, 4};
  const Tensor t = from_host(data.data(), 32, {2, 2}, DType::Float64);
  EXPECT_EQ(t.to_vector<double>(), data);
  expect_error<InvalidArgument>([&] { from_host(data.data(), 31, {2, 2}, DType::Float64); },
                                "[from_host] 31 bytes do not match shape (2, 2)");
  static int deleted = 0;
  auto* buffer = new float[3]{1, 2, 3};
  {
    const Tensor w = wrap_host(buffer, 12, {3}, DType::Float32,
                               [](void* p, void*) { delete[] static_cast<float*>(p); ++deleted; }, nullptr);
    EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1, 2, 3}));
    buffer[1] = 20;  // zero-copy: the tensor sees the caller's memory
    EXPECT_EQ(w.to_vector<float>()[1], 20.0f);
  }
  EXPECT_EQ(deleted, 1);
  auto* bad = new float[3];
  expect_error<InvalidArgument>([&] {
    wrap_host(bad, 8, {3}, DType::Float32, [](void* p, void*) { delete[] static_cast<float*>(p); ++deleted; }, nullptr);
  }, "do not match");
  EXPECT_EQ(deleted, 2) << "the deleter runs once when wrap_host fails";
}

TEST(DTypes, NamesSizesAndCasts) {
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto d = static_cast<DType>(i);
    EXPECT_EQ(dtype_from_name(dtype_name(d)), d);
  }
  expect_error<InvalidArgument>([] { dtype_from_name("complex64", "cast"); }, "[cast] unknown dtype 'complex64'");
  const Tensor x = constant({1.0, -2.5, 65504.0, 1e-3});
  const Tensor h = cast(x, DType::Float16);
  EXPECT_EQ(h.dtype(), DType::Float16);
  EXPECT_EQ(h.nbytes(), 8u);
  const auto back = cast(h, DType::Float32).to_vector<float>();
  EXPECT_FLOAT_EQ(back[0], 1.0f);
  EXPECT_FLOAT_EQ(back[1], -2.5f);
  EXPECT_FLOAT_EQ(back[2], 65504.0f);
  EXPECT_NEAR(back[3], 1e-3, 1e-6);
  const auto bf = cast(cast(x, DType::BFloat16), DType::Float32).to_vector<float>();
  EXPECT_FLOAT_EQ(bf[1], -2.5f);
  EXPECT_NEAR(bf[3], 1e-3, 1e-5);
  // Arithmetic on the CPU runs in float32 and rounds back: 65504 (the largest float16) doubled
  // overflows to infinity as it would in float16 hardware.
  const Tensor twice = add(h, h);
  EXPECT_EQ(twice.dtype(), DType::Float16);
  const auto t = cast(twice, DType::Float32).to_vector<float>();
  EXPECT_EQ(t[0], 2.0f);
  EXPECT_EQ(t[1], -5.0f);
  EXPECT_TRUE(std::isinf(t[2]) && t[2] > 0);
  EXPECT_EQ(t[3], 2.0f * back[3]);
}

TEST(Half, RoundTripsAndRounding) {
  EXPECT_EQ(Half(1.0f).bits, 0x3c00);
  EXPECT_EQ(Half(-2.0f).bits, 0xc000);
  EXPECT_EQ(Half(65520.0f).bits, 0x7c00);  // rounds to inf
  EXPECT_EQ(Half(5.9604645e-08f).bits, 0x0001);  // smallest subnormal
  EXPECT_FLOAT_EQ(static_cast<float>(Half(0.1f)), 0.099975586f);
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3f80);
  EXPECT_FLOAT_EQ(static_cast<float>(BFloat16(3.14159f)), 3.140625f);
}

TEST(Views, ShareStorageAndKeepValues) {
  const Tensor x = range(24).reshape({2, 3, 4});
  const Tensor t = x.transpose({2, 0, 1});
  EXPECT_EQ(t.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.impl()->storage.get(), x.impl()->storage.get());
  EXPECT_EQ(t.index({1, 1, 2}).item<int64_t>(), x.index({1, 2, 1}).item<int64_t>());
  const Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.impl()->storage.get(), x.impl()->storage.get());
  EXPECT_EQ(c.to_vector<int64_t>(), t.to_vector<int64_t>());
  EXPECT_EQ(x.expand_dims(1).shape(), (Shape{2, 1, 3, 4}));
  EXPECT_EQ(x.expand_dims(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(x.reshape({1, 24, 1}).squeeze().shape(), (Shape{24}));
  const Tensor b = constant({1, 2, 3}).broadcast_to({2, 3});
  EXPECT_EQ(b.strides(), (Shape{0, 1}));
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 1, 2, 3}));
  expect_error<ShapeError>([&] { constant({1, 2, 3}).broadcast_to({2, 4}); }, "[broadcast_to]");
  expect_error<InvalidArgument>([&] { x.transpose({0, 1}); }, "[transpose] perm has 2 entries");
  expect_error<InvalidArgument>([&] { x.expand_dims(5); }, "[expand_dims] axis 5 is out of range");
  expect_error<ShapeError>([&] { x.squeeze({0}); }, "[squeeze] cannot squeeze axis 0");
}

TEST(Views, PythonStyleIndexing) {
  const Tensor x = range(12).reshape({3, 4});
  EXPECT_EQ(x.index({Slice(1, 3)}).shape(), (Shape{2, 4}));                        // X[1:3]
  EXPECT_EQ(x.index({1, 2}).item<int64_t>(), 6);                                    // X[1, 2]
  EXPECT_EQ((x[{-1, -1}].item<int64_t>()), 11);                                       // X[-1, -1]
  EXPECT_EQ((x[{Slice(), Slice(None, None, 2)}].to_vector<int64_t>()),
            (std::vector<int64_t>{0, 2, 4, 6, 8, 10}));                             // X[:, ::2]
  EXPECT_EQ((x[{Slice(None, None, -1), 0}].to_vector<int64_t>()),
            (std::vector<int64_t>{8, 4, 0}));                                       // X[::-1, 0]
  EXPECT_EQ((x[{Slice(-2, None)}].to_vector<int64_t>()[0]), 4);                       // X[-2:]
  EXPECT_EQ((x[{Slice(5, 10)}].shape()), (Shape{0, 4}));                              // clamped
  EXPECT_EQ((x[{Ellipsis, 1}].to_vector<int64_t>()), (std::vector<int64_t>{1, 5, 9}));  // X[..., 1]
  EXPECT_EQ((x[{NewAxis, Slice(), 0}].shape()), (Shape{1, 3}));                       // X[None, :, 0]
  EXPECT_EQ(x[2].to_vector<int64_t>(), (std::vector<int64_t>{8, 9, 10, 11}));
  expect_error<InvalidArgument>([&] { x.index({3}); }, "[slice] index 3 is out of range for axis 0 with size 3");
  expect_error<InvalidArgument>([&] { x.index({0, 0, 0}); }, "[index] too many indices");
  expect_error<InvalidArgument>([&] { x.index({Slice(0, 2, 0)}); }, "step cannot be 0");
}

TEST(HostAccess, ItemAndCopies) {
  const Tensor x = constant({{1.5, 2.5}, {3.5, 4.5}});
  EXPECT_EQ(x.index({1, 0}).item<float>(), 3.5f);
  EXPECT_EQ(x.index({1, 0}).item<int32_t>(), 3);  // converted like cast
  EXPECT_EQ(x.transpose().to_vector<double>(), (std::vector<double>{1.5, 3.5, 2.5, 4.5}));
  float out[4];
  x.copy_to_host(out, sizeof out);
  EXPECT_EQ(out[3], 4.5f);
  expect_error<InvalidArgument>([&] { x.item<float>(); }, "[item] needs a tensor with exactly one element, got shape (2, 2)");
  expect_error<InvalidArgument>([&] { x.copy_to_host(out, 8); }, "[copy_to_host] buffer of 8 bytes");
  expect_error<InvalidArgument>([] { Tensor().shape(); }, "[tensor] the tensor handle is empty");
}

TEST(Printing, ShowsShapeDtypeDeviceAndSummarises) {
  std::ostringstream a;
  a << constant({{1, 2}, {3, 4}});
  EXPECT_EQ(a.str(), "Tensor([[1 2]\n        [3 4]], shape=(2, 2), dtype=int64, device=CPU:0)");
  std::ostringstream b;
  b << constant(2.5);
  EXPECT_EQ(b.str(), "Tensor(2.5, shape=(), dtype=float32, device=CPU:0)");
  std::ostringstream c;
  c << cast(range(2000), DType::Float32);
  EXPECT_NE(c.str().find("[   0.    1.    2. ... 1997. 1998. 1999.]"), std::string::npos) << c.str();
  EXPECT_EQ(constant({true, false}).str(), "Tensor([ True False], shape=(2,), dtype=bool, device=CPU:0)");
}

TEST(Operators, CallOpsAndScalarsTakeTensorDtype) {
  const Tensor x = constant({1.0, 2.0, 4.0});
  EXPECT_EQ((x + x).to_vector<float>(), (std::vector<float>{2, 4, 8}));
  EXPECT_EQ((x * 2.0).to_vector<float>(), (std::vector<float>{2, 4, 8}));
  EXPECT_EQ((1.0 - x).to_vector<float>(), (std::vector<float>{0, -1, -3}));
  EXPECT_EQ((8.0 / x).to_vector<float>(), (std::vector<float>{8, 4, 2}));
  EXPECT_EQ((-x).to_vector<float>(), (std::vector<float>{-1, -2, -4}));
  EXPECT_EQ((x > 1.5 * ones_like(x)).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ((constant({3, 4}) * 2.0).dtype(), DType::Int64);
  EXPECT_EQ((constant({7, -7}) % constant({3, 3})).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((!constant({true, false})).to_vector<bool>(), (std::vector<bool>{false, true}));
}

TEST(Ops, SeedExamplesOnMatrices) {
  const Tensor X = reshape(range(12), {3, 4});
  const Tensor Y = constant({{2, 1, 4, 3}, {1, 2, 3, 4}, {4, 3, 2, 1}});
  EXPECT_EQ(concat({X, Y}, 0).shape(), (Shape{6, 4}));
  EXPECT_EQ(concat({X, Y}, 1).shape(), (Shape{3, 8}));
  EXPECT_EQ(equal(X, Y).to_vector<bool>()[1], true);  // X[0,1] == Y[0,1] == 1
  EXPECT_EQ(reduce_sum(X).item<int64_t>(), 66);
  const Tensor Xf = cast(X, DType::Float32);
  EXPECT_EQ(matmul(Xf, transpose(cast(Y, DType::Float32))).index({0, 0}).item<float>(), 0 * 2 + 1 * 1 + 2 * 4 + 3 * 3);
  EXPECT_NEAR(norm(Xf).item<float>(), std::sqrt(506.0), 1e-4);
  EXPECT_EQ(argmax(Y, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 0}));
  EXPECT_EQ(one_hot(constant({0, 2}), 3).to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(split(X, 2, 1)[1].to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 6, 7, 10, 11}));
  EXPECT_EQ(pad(constant({1, 2}), {{1, 2}}, 9).to_vector<int64_t>(), (std::vector<int64_t>{9, 1, 2, 9, 9}));
  EXPECT_EQ(tile(constant({1, 2}), {2}).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 1, 2}));
  EXPECT_EQ(stack({constant({1}), constant({2})}, 1).shape(), (Shape{1, 2}));
  EXPECT_EQ(gather(Y, constant({2, 0}), 0).to_vector<int64_t>()[0], 4);
}

TEST(Ops, LargeInputsUseTheThreadedPaths) {
  // Big enough to split across threads in elementwise ops and reductions.
  const int64_t n = 1 << 20;
  const Tensor a = cast(range(n), DType::Float64);
  const Tensor b = a * 2.0 + 1.0;
  EXPECT_EQ(b.index({n - 1}).item<double>(), 2.0 * (n - 1) + 1);
  EXPECT_DOUBLE_EQ(reduce_sum(a).item<double>(), static_cast<double>(n) * (n - 1) / 2);
  const Tensor m = reshape(cast(a, DType::Float32), {1024, 1024});
  const auto col = reduce_sum(m, std::vector<int64_t>{0}).to_vector<float>();
  EXPECT_FLOAT_EQ(col[3], static_cast<float>(1024.0 * 1023 / 2 * 1024 + 3 * 1024));
  const auto rows = reduce_max(m, std::vector<int64_t>{1}).to_vector<float>();
  EXPECT_FLOAT_EQ(rows[5], 5 * 1024 + 1023);
  EXPECT_EQ(argmax(reshape(a, {1, n}), 1).item<int64_t>(), n - 1);
}

// Reductions that keep a few values per row (bias gradients: [N*H*W, C] summed over rows) read the
// rows as wide rows, split across threads even for one output row: a row count that is not a
// multiple of the wide row's, two outer indexes, NaN and a lone true in the last rows.
// Elementwise kernels take a flat path when every input is contiguous with the output's shape or
// a single value (scalars, all-zero-stride broadcasts); other layouts take the general one. Each
// against the value computed by hand.
TEST(Ops, ElementwiseLayoutsGiveTheSameValues) {
  const Tensor x = constant(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor five = broadcast_to(constant({5.0f}), {2, 3});  // strides (0, 0)
  EXPECT_EQ((x + five).to_vector<float>(), (std::vector<float>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ((five - x).to_vector<float>(), (std::vector<float>{4, 3, 2, 1, 0, -1}));
  EXPECT_EQ((x * constant(2.0f)).to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
  const Tensor row = broadcast_to(constant(std::vector<float>{10, 20, 30}, {1, 3}), {2, 3});  // strides (0, 4)
  EXPECT_EQ((x + row).to_vector<float>(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  const Tensor xt = transpose(x);  // [3, 2], not contiguous
  EXPECT_EQ((xt + broadcast_to(constant({1.0f}), {3, 2})).to_vector<float>(), (std::vector<float>{2, 5, 3, 6, 4, 7}));
  EXPECT_EQ(cast(xt, DType::Int32).to_vector<int32_t>(), (std::vector<int32_t>{1, 4, 2, 5, 3, 6}));
  const Tensor sliced = x[{Slice(), Slice(1, 3)}];  // [2, 2] view with row stride 3
  EXPECT_EQ((sliced * sliced).to_vector<float>(), (std::vector<float>{4, 9, 25, 36}));
}

// A row repeated along the output (a bias) takes plain runs that restart at each row, split
// across threads mid-row: every element must see its own row element.
TEST(Ops, RepeatedRowsMatchALoop) {
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const int64_t N = 257, H = 3, W = 130;  // 100,230 elements: two threads split mid-row
    const Tensor x = random_normal({N, H, W}, 0, 1, DType::Float32, 11);
    const Tensor row2 = random_normal({H, W}, 0, 1, DType::Float32, 12);
    const Tensor row1 = random_normal({1, 1, W}, 0, 1, DType::Float32, 13);
    const std::vector<float> v = x.to_vector<float>(), r2 = row2.to_vector<float>(), r1 = row1.to_vector<float>();
    const std::vector<float> sum = add(x, row2).to_vector<float>();
    const std::vector<float> diff = sub(row1, x).to_vector<float>();
    const std::vector<float> picked = where(greater(x, constant(0.0f)), row2, row1).to_vector<float>();
    const std::vector<int32_t> ints =
        add(cast(x, DType::Int32), cast(reshape(row1, {W}), DType::Int32)).to_vector<int32_t>();
    for (int64_t i = 0; i < N * H * W; ++i) {
      const size_t at = static_cast<size_t>(i), in2 = static_cast<size_t>(i % (H * W)), in1 = static_cast<size_t>(i % W);
      ASSERT_EQ(sum[at], v[at] + r2[in2]) << threads << " threads, element " << i;
      ASSERT_EQ(diff[at], r1[in1] - v[at]) << threads << " threads, element " << i;
      ASSERT_EQ(picked[at], v[at] > 0 ? r2[in2] : r1[in1]) << threads << " threads, element " << i;
      ASSERT_EQ(ints[at], static_cast<int32_t>(v[at]) + static_cast<int32_t>(r1[in1])) << threads << " threads";
    }
  }
  set_num_threads(before);
}

TEST(Ops, NarrowReductionsMatchALoop) {
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const int64_t K0 = 2, R = 30011, K1 = 6;
    const Tensor x = random_normal({K0, R, K1}, 0, 1, DType::Float64, 7);
    const std::vector<double> v = x.to_vector<double>();
    const std::vector<double> sum = reduce_sum(x, std::vector<int64_t>{1}).to_vector<double>();
    const std::vector<double> top = reduce_max(x, std::vector<int64_t>{1}).to_vector<double>();
    for (int64_t o = 0; o < K0; ++o) {
      for (int64_t j = 0; j < K1; ++j) {
        double s = 0, m = -INFINITY;
        for (int64_t i = 0; i < R; ++i) {
          s += v[static_cast<size_t>((o * R + i) * K1 + j)];
          m = std::max(m, v[static_cast<size_t>((o * R + i) * K1 + j)]);
        }
        EXPECT_NEAR(sum[static_cast<size_t>(o * K1 + j)], s, 1e-10) << threads << " threads";
        EXPECT_EQ(top[static_cast<size_t>(o * K1 + j)], m) << threads << " threads";
      }
    }
    const Tensor flat = reshape(x, {K0 * R, K1});
    EXPECT_NEAR(reduce_sum(flat, std::vector<int64_t>{0}).to_vector<double>()[2], sum[2] + sum[K1 + 2], 1e-10);
    std::vector<double> with_nan = v;
    with_nan[static_cast<size_t>((R - 1) * K1 + 4)] = std::nan("");
    const auto nan_max = reduce_max(constant(with_nan, {K0, R, K1}), std::vector<int64_t>{1}).to_vector<double>();
    EXPECT_TRUE(std::isnan(nan_max[4]));
    EXPECT_FALSE(std::isnan(nan_max[3]) || std::isnan(nan_max[K1 + 4]));
    std::vector<uint8_t> flags(static_cast<size_t>(R * 5), 0);
    flags[static_cast<size_t>((R - 1) * 5 + 3)] = 1;
    const Tensor any = reduce_any(cast(constant(flags, {R, 5}), DType::Bool), std::vector<int64_t>{0});
    EXPECT_EQ(cast(any, DType::Int32).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 0, 1, 0}));
    EXPECT_EQ(reduce_sum(zeros({5, 0}), std::vector<int64_t>{0}).shape(), (Shape{0}));  // nothing kept
    EXPECT_EQ(reduce_max(zeros({0, 3}), std::vector<int64_t>{0}).to_vector<float>(), std::vector<float>(3, -INFINITY));
    // float32 sums (bias gradients) accumulate in double in their own per-ISA loop: within one
    // float rounding of the double sum.
    const std::vector<float> sum32 = reduce_sum(cast(x, DType::Float32), std::vector<int64_t>{1}).to_vector<float>();
    const std::vector<float> v32 = cast(x, DType::Float32).to_vector<float>();
    for (int64_t o = 0; o < K0; ++o) {
      for (int64_t j = 0; j < K1; ++j) {
        double s = 0;
        for (int64_t i = 0; i < R; ++i) s += v32[static_cast<size_t>((o * R + i) * K1 + j)];
        EXPECT_NEAR(sum32[static_cast<size_t>(o * K1 + j)], s, 1e-6 * std::max(1.0, std::abs(s))) << threads << " threads";
      }
    }
  }
  set_num_threads(before);
}

// float32 GEMMs of at least 2^20 multiply-adds run on oneDNN's matmul with each operand's
// strides: transposed by attribute or as views, a leading dimension wider than the row (a column
// slice), broadcast batches, and a batch against one shared right operand (one tall GEMM).
TEST(Ops, LargeFloat32MatmulsMatchFloat64) {
  const auto expect_close = [](const Tensor& got, const Tensor& want, const char* what) {
    SCOPED_TRACE(what);
    ASSERT_EQ(got.shape(), want.shape());
    const double err = reduce_max(abs(cast(got, DType::Float64) - want)).item<double>();
    EXPECT_LT(err, 1e-5 * reduce_max(abs(want)).item<double>());
  };
  const auto r = [](const Shape& shape, uint64_t seed) { return random_normal(shape, 0, 1, DType::Float64, seed); };
  const auto f = [](const Tensor& t) { return cast(t, DType::Float32); };
  const Tensor a = r({130, 90}, 30), b = r({90, 100}, 31), at = r({90, 130}, 32), bt = r({100, 90}, 33);
  expect_close(matmul(f(a), f(b)), matmul(a, b), "plain");
  expect_close(matmul(f(at), f(bt), true, true), matmul(at, bt, true, true), "transpose_a and transpose_b");
  expect_close(matmul(transpose(f(at)), f(b)), matmul(transpose(at), b), "a transposed view");
  expect_close(matmul(f(a), transpose(f(bt))), matmul(a, transpose(bt)), "b transposed view");
  const Tensor wide = r({130, 120}, 34);
  const Tensor columns = f(wide).index({Slice(), Slice(0, 90)});
  EXPECT_FALSE(columns.is_contiguous());
  expect_close(matmul(columns, f(b)), matmul(wide.index({Slice(), Slice(0, 90)}), b), "leading dimension 120");
  const Tensor left = r({2, 1, 130, 90}, 35), right = r({3, 90, 100}, 36);
  expect_close(matmul(f(left), f(right)), matmul(left, right), "broadcast batches");
  const Tensor batch = r({4, 130, 90}, 37);
  expect_close(matmul(f(batch), f(b)), matmul(batch, b), "batch against a shared right operand");
}

TEST(Ops, NanHandling) {
  const double nan = std::nan("");
  const Tensor x = constant({1.0, nan, 3.0}, DType::Float64);
  EXPECT_TRUE(std::isnan(reduce_max(x).item<double>()));
  EXPECT_TRUE(std::isnan(maximum(x, zeros_like(x)).to_vector<double>()[1]));
  EXPECT_EQ(argmax(x).item<int64_t>(), 1);
  EXPECT_EQ(cast(x, DType::Int32).to_vector<int32_t>()[1], 0);  // defined: NaN -> 0
  EXPECT_EQ(cast(constant({1e30}), DType::Int32).item<int32_t>(), 2147483647);  // saturates
}

}  // namespace
}  // namespace loom::testing
