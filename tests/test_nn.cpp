// Neural-network ops beyond the golden tables: dropout, batch independence of inference batch
// norm, Winograd against direct convolution, oneDNN primitive reuse, activation lookup.
#include <cmath>
#include <limits>

#include "cpu/onednn/onednn.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(Dropout, MaskComesFromTheSeedAndKeepsTheExpectedValue) {
  const Tensor x = ones({200, 100});
  const Tensor y = dropout(x, 0.25, true, 77);
  const auto v = y.to_vector<float>();
  const auto u = random_uniform({200, 100}, 0, 1, DType::Float32, 77).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(v[i], u[i] >= 0.25f ? 1.0f / 0.75f : 0.0f) << i;
  }
  EXPECT_NEAR(reduce_mean(y).item<float>(), 1.0, 0.02);
  EXPECT_EQ(dropout(x, 0.25, true, 77).to_vector<float>(), v) << "same seed, same mask";
  EXPECT_NE(dropout(x, 0.25, true, 78).to_vector<float>(), v);
  EXPECT_EQ(dropout(x, 0.25, false).to_vector<float>(), x.to_vector<float>()) << "inference: identity";
  EXPECT_EQ(dropout(x, 0.0, true).to_vector<float>(), x.to_vector<float>());
  GradientTape t;
  t.watch(x);
  const auto g = t.gradient(dropout(x, 0.25, true, 77), x).to_vector<float>();
  EXPECT_EQ(g, v) << "the gradient is the same mask and scale";
}

TEST(BatchNorm, InferenceDoesNotDependOnTheBatch) {
  const Tensor x = random_normal({8, 4, 4, 3}, 0, 1, DType::Float32, 1);
  const Tensor gamma = random_normal({3}, 1, 0.1, DType::Float32, 2), beta = random_normal({3}, 0, 0.1, DType::Float32, 3);
  const Tensor mean = constant({0.1, -0.2, 0.3}), var = constant({1.5, 0.5, 2.0});
  const Tensor batch = batch_norm_inference(x, gamma, beta, mean, var);
  const Tensor single = batch_norm_inference(x[{Slice(3, 4)}], gamma, beta, mean, var);
  expect_tensor_near(single, batch[{Slice(3, 4)}], 0, 0);
}

TEST(BatchNorm, TrainingNormalisesEachChannel) {
  const Tensor x = random_normal({16, 5, 5, 4}, 3.0, 2.0, DType::Float32, 5);
  const auto r = batch_norm_training(x, ones({4}), zeros({4}), 1e-5);
  const auto m = reduce_mean(r.y, std::vector<int64_t>{0, 1, 2}).to_vector<float>();
  const auto s = reduce_mean(square(r.y), std::vector<int64_t>{0, 1, 2}).to_vector<float>();
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(m[static_cast<size_t>(c)], 0.0, 1e-5);
    EXPECT_NEAR(s[static_cast<size_t>(c)], 1.0, 1e-4);
  }
  EXPECT_NEAR(reduce_mean(r.batch_mean).item<float>(), 3.0, 0.1);
  EXPECT_NEAR(reduce_mean(r.batch_variance).item<float>(), 4.0, 0.3);
}

// The statistics come from one pass over x less a shift per channel: a mean far from zero
// against a small spread (1000 +- 0.01) keeps the variance to float64 precision.
TEST(BatchNorm, VarianceStaysAccurateFarFromZero) {
  const Tensor x = random_normal({64, 3, 3, 5}, 1000.0, 0.01, DType::Float64, 12);
  const auto r = batch_norm_training(x, ones({5}, DType::Float64), zeros({5}, DType::Float64), 1e-5);
  const auto v = x.to_vector<double>();
  const auto mean = r.batch_mean.to_vector<double>(), var = r.batch_variance.to_vector<double>();
  for (size_t c = 0; c < 5; ++c) {
    double m = 0, q = 0;
    for (size_t i = c; i < v.size(); i += 5) m += v[i];
    m /= static_cast<double>(v.size() / 5);
    for (size_t i = c; i < v.size(); i += 5) q += (v[i] - m) * (v[i] - m);
    q /= static_cast<double>(v.size() / 5);
    EXPECT_NEAR(mean[c], m, 1e-10) << c;
    EXPECT_NEAR(var[c], q, 1e-12 * q) << c;
    EXPECT_NEAR(q, 1e-4, 3e-5) << "the data's spread";
  }
}

// 64 channels in and out keep the blocked layouts, where the weight gradient runs Winograd under
// "auto" (fewer channels run NHWC kernels).
TEST(Conv2D, WinogradMatchesDirect) {
  const Tensor x = random_normal({4, 16, 16, 64}, 0, 1, DType::Float32, 6);
  const Tensor w = random_normal({3, 3, 64, 64}, 0, 0.1, DType::Float32, 7);
  Conv2DOptions direct, automatic;
  direct.padding = automatic.padding = "same";
  direct.algorithm = "direct";
  const Tensor a = conv2d(x, w, Tensor(), automatic), d = conv2d(x, w, Tensor(), direct);
  const Tensor reference = conv2d(cast(x, DType::Float64), cast(w, DType::Float64), Tensor(), direct);
  EXPECT_LT(reduce_max(abs(cast(d, DType::Float64) - reference)).item<double>(), 1e-4);
  EXPECT_LT(reduce_max(abs(cast(a, DType::Float64) - reference)).item<double>(), 1e-3)
      << "Winograd rounds differently but stays close";
  // The weight gradient uses Winograd under "auto" too (3x3, stride 1).
  const Tensor dy = random_normal(a.shape(), 0, 1, DType::Float32, 8);
  Attrs attrs{{"padding", std::string("same")}, {"filter_shape", w.shape().vec()}};
  const Tensor gw_auto = call_op("conv2d_backprop_filter", {x, dy}, attrs)[0];
  attrs.set("algorithm", std::string("direct"));
  const Tensor gw_direct = call_op("conv2d_backprop_filter", {x, dy}, attrs)[0];
  const Tensor gw_ref = call_op("conv2d_backprop_filter", {cast(x, DType::Float64), cast(dy, DType::Float64)}, attrs)[0];
  EXPECT_LT(reduce_max(abs(cast(gw_direct, DType::Float64) - gw_ref)).item<double>(), 1e-3);
  EXPECT_LT(reduce_max(abs(cast(gw_auto, DType::Float64) - gw_ref)).item<double>(), 1e-2 * reduce_max(abs(gw_ref)).item<double>());
  Conv2DOptions bad;
  bad.algorithm = "fft";
  expect_error<InvalidArgument>([&] { conv2d(x, w, Tensor(), bad); }, "[conv2d] algorithm must be \"auto\" or \"direct\"");
}

// LeNet's second layer: 6 input channels keep oneDNN's blocked weight gradient on AVX2 code, so
// the kernel takes plain NHWC activations instead (on AVX-512 machines); both must agree with
// float64.
// Channel counts that oneDNN's blocked layouts pad (6 stored as 16) take plain NHWC kernels for
// the weight gradient: LeNet's second layer (6 input channels) and first (1 in, 6 out, "same").
TEST(Conv2D, WeightGradientWithFewChannelsMatchesFloat64) {
  struct Case {
    Shape x, dy;
    std::vector<int64_t> filter;
    std::string padding;
  };
  const Case cases[] = {{{6, 14, 14, 6}, {6, 10, 10, 16}, {5, 5, 6, 16}, "valid"},
                        {{6, 14, 14, 1}, {6, 14, 14, 6}, {5, 5, 1, 6}, "same"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.x.str() + " -> " + c.dy.str());
    const Tensor x = random_normal(c.x, 0, 1, DType::Float32, 21);
    const Tensor dy = random_normal(c.dy, 0, 1, DType::Float32, 22);
    const Attrs attrs{{"padding", c.padding}, {"filter_shape", c.filter}};
    const Tensor gw = call_op("conv2d_backprop_filter", {x, dy}, attrs)[0];
    const Tensor ref = call_op("conv2d_backprop_filter", {cast(x, DType::Float64), cast(dy, DType::Float64)}, attrs)[0];
    EXPECT_EQ(gw.shape(), Shape(c.filter));
    EXPECT_LT(reduce_max(abs(cast(gw, DType::Float64) - ref)).item<double>(), 1e-4 * reduce_max(abs(ref)).item<double>());
  }
}

// One input channel (a grayscale first layer) runs a direct kernel, not oneDNN: no primitive is
// created. Output widths that are not whole vectors, odd heights, asymmetric padding, one and 16
// output channels, with and without bias and relu; NaN reaches the outputs whose windows hold it.
// The one-channel weight-gradient kernel (3x3 and 5x5 filters, fewer than 16 channels, float32)
// against float64: odd sizes, partial last vectors, asymmetric padding, a NaN in dy; no oneDNN
// primitive.
TEST(Conv2D, OneInputChannelFilterGradientMatchesFloat64) {
  struct Case {
    Shape x;
    std::vector<int64_t> filter;
    Padding padding;
  };
  const Case cases[] = {{{9, 28, 28, 1}, {5, 5, 1, 6}, "same"},        {{3, 28, 28, 1}, {3, 3, 1, 15}, "same"},
                        {{2, 13, 9, 1}, {3, 3, 1, 5}, "valid"},        {{4, 7, 30, 1}, {5, 5, 1, 7}, Padding(1, 2, 0, 3)},
                        {{1, 11, 6, 1}, {3, 3, 1, 1}, Padding(0, 2, 2, 1)}, {{5, 9, 9, 1}, {5, 5, 1, 12}, "valid"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.x.str() + " * " + Shape(c.filter).str());
    const Tensor x = random_normal(c.x, 0, 1, DType::Float32, 41);
    const Tensor f = random_normal(Shape(c.filter), 0, 0.3, DType::Float32, 42);
    Conv2DOptions o;
    o.padding = c.padding;
    const Shape y_shape = conv2d(x, f, Tensor(), o).shape();
    const Tensor dy = random_normal(y_shape, 0, 1, DType::Float32, 43);
    const int64_t created = onednn::primitive_creations();
    GradientTape tape;
    tape.watch(f);
    const Tensor y = conv2d(x, f, Tensor(), o);
    const Tensor df = tape.gradient({y}, {f}, {dy})[0];
    EXPECT_EQ(onednn::primitive_creations(), created);
    const Tensor f64 = cast(f, DType::Float64);
    GradientTape tape64;
    tape64.watch(f64);
    const Tensor y64 = conv2d(cast(x, DType::Float64), f64, Tensor(), o);
    const Tensor ref = tape64.gradient({y64}, {f64}, {cast(dy, DType::Float64)})[0];
    ASSERT_EQ(df.shape(), ref.shape());
    const double scale = reduce_max(abs(ref)).item<double>();
    EXPECT_LT(reduce_max(abs(cast(df, DType::Float64) - ref)).item<double>(), 1e-5 * scale + 1e-6);
  }
  // A NaN in dy at (0, 2, 3, channel 1) reaches exactly channel 1's taps (every tap whose input
  // position (2 + kh - 1, 3 + kw - 1) lies inside the 3x3 "same" padding: all nine here).
  const Tensor x = random_normal({2, 6, 7, 1}, 0, 1, DType::Float32, 44);
  auto values = random_normal({2, 6, 7, 4}, 0, 1, DType::Float32, 45).to_vector<float>();
  values[(2 * 7 + 3) * 4 + 1] = std::nanf("");
  const Tensor dy = constant(values, Shape{2, 6, 7, 4});
  const Tensor f = random_normal({3, 3, 1, 4}, 0, 1, DType::Float32, 46);
  Conv2DOptions o;
  o.padding = "same";
  GradientTape tape;
  tape.watch(f);
  const Tensor y = conv2d(x, f, Tensor(), o);
  const auto df = tape.gradient({y}, {f}, {dy})[0].to_vector<float>();
  for (size_t k = 0; k < df.size(); ++k) EXPECT_EQ(std::isnan(df[k]), k % 4 == 1) << k;
}

TEST(Conv2D, OneInputChannelMatchesFloat64) {
  struct Case {
    Shape x;
    std::vector<int64_t> filter;
    Padding padding;
    std::string activation;
    bool bias;
  };
  const Case cases[] = {{{3, 28, 28, 1}, {5, 5, 1, 6}, "same", "relu", true},
                        {{2, 13, 9, 1}, {3, 3, 1, 16}, "valid", "linear", false},
                        {{2, 7, 30, 1}, {3, 4, 1, 5}, Padding(1, 2, 0, 3), "relu", true},
                        {{5, 4, 4, 1}, {1, 1, 1, 1}, "valid", "linear", true},
                        {{1, 6, 40, 1}, {2, 5, 1, 7}, "same", "linear", true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.x.str() + " * " + Shape(c.filter).str());
    Tensor x = random_normal(c.x, 0, 1, DType::Float32, 31);
    const Tensor f = random_normal(Shape(c.filter), 0, 0.3, DType::Float32, 32);
    const Tensor b = c.bias ? random_normal({c.filter[3]}, 0, 0.5, DType::Float32, 33) : Tensor();
    Conv2DOptions o;
    o.padding = c.padding;
    o.activation = c.activation;
    const int64_t created = onednn::primitive_creations();
    const Tensor y = conv2d(x, f, b, o);
    EXPECT_EQ(onednn::primitive_creations(), created);
    const auto f64 = [](const Tensor& t) { return t.defined() ? cast(t, DType::Float64) : Tensor(); };
    const Tensor ref = conv2d(f64(x), f64(f), f64(b), o);
    ASSERT_EQ(y.shape(), ref.shape());
    EXPECT_LT(reduce_max(abs(f64(y) - ref)).item<double>(), 1e-5);
  }
  // A NaN at input (0, 3, 4) reaches exactly the outputs of image 0 whose 5x5 window covers it.
  Tensor x = random_normal({2, 8, 9, 1}, 0, 1, DType::Float32, 34);
  auto values = x.to_vector<float>();
  values[3 * 9 + 4] = std::nanf("");
  x = constant(values, x.shape());
  Conv2DOptions o;
  o.padding = "same";
  o.activation = "relu";
  const auto y = conv2d(x, random_normal({5, 5, 1, 3}, 0, 1, DType::Float32, 35), Tensor(), o).to_vector<float>();
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t h = 0; h < 8; ++h) {
      for (int64_t w = 0; w < 9; ++w) {
        const bool covers = n == 0 && std::abs(h - 3) <= 2 && std::abs(w - 4) <= 2;
        for (int64_t k = 0; k < 3; ++k) {
          EXPECT_EQ(std::isnan(y[static_cast<size_t>(((n * 8 + h) * 9 + w) * 3 + k)]), covers) << n << h << w << k;
        }
      }
    }
  }
}

// 2x2 windows at stride 2 run their own kernel: the first maximum of each window in row-major
// order (small integers make ties common), NaN never wins (a window of NaNs gives -inf at its
// first element), rows and columns left over by odd sizes are skipped; the gradient scatters
// to the same positions.
// relu_bias_grad's fused kernel on tensors large enough to split across threads, for channel
// counts that fill whole vectors (16, 64), do not (6, 40) and a dense layer's 128, in float32 and
// bfloat16: dz exactly relu's gradient, dbias the float64 sum of dz (rounded once).
TEST(ReluBiasGrad, LargeTensorsMatchFloat64) {
  for (const int64_t c : {6, 16, 40, 64, 128}) {
    for (const DType dtype : {DType::Float32, DType::BFloat16}) {
      SCOPED_TRACE(std::to_string(c) + " channels, " + dtype_name(dtype));
      const Shape shape{32, 9, 11, c};
      const Tensor y = cast(relu(random_normal(shape, 0, 1, DType::Float32, 31)), dtype);
      const Tensor dy = cast(random_normal(shape, 0, 1, DType::Float32, 32), dtype);
      const auto r = call_op("relu_bias_grad", {dy, y}, {});
      const Tensor expected_dz = where(greater(y, zeros_like(y)), dy, zeros_like(dy));
      EXPECT_EQ(cast(r[0], DType::Float32).to_vector<float>(), cast(expected_dz, DType::Float32).to_vector<float>());
      const Tensor sum64 = reduce_sum(cast(expected_dz, DType::Float64), std::vector<int64_t>{0, 1, 2});
      EXPECT_EQ(r[1].dtype(), dtype);
      EXPECT_EQ(cast(r[1], DType::Float32).to_vector<float>(), cast(cast(sum64, dtype), DType::Float32).to_vector<float>());
    }
  }
}

// A conv2d and a dense layer ending in relu: their bias gradients (the fused op) equal the sums
// of the pre-activation gradients, which the filter/kernel gradients are made from.
TEST(ReluBiasGrad, LayerGradientsMatchTheUnfusedRoute) {
  const Tensor x = random_normal({4, 6, 6, 3}, 0, 1, DType::Float64, 41);
  const Tensor f = random_normal({3, 3, 3, 5}, 0, 1, DType::Float64, 42);
  const Tensor b = random_normal({5}, 0, 1, DType::Float64, 43);
  Conv2DOptions relu_opts;
  relu_opts.padding = "same";
  relu_opts.activation = "relu";
  Conv2DOptions linear_opts = relu_opts;
  linear_opts.activation = "linear";
  GradientTape fused, plain;
  fused.watch(b);
  plain.watch(b);
  const Tensor fused_b = fused.gradient(reduce_sum(square(conv2d(x, f, b, relu_opts))), b);
  const Tensor plain_b = plain.gradient(reduce_sum(square(relu(conv2d(x, f, b, linear_opts)))), b);
  expect_tensor_near(fused_b, plain_b, 1e-12, 1e-12, "conv2d bias");
  const Tensor xd = random_normal({6, 7}, 0, 1, DType::Float64, 44);
  const Tensor kd = random_normal({7, 5}, 0, 1, DType::Float64, 45);
  GradientTape fused_d, plain_d;
  fused_d.watch(b);
  plain_d.watch(b);
  const Tensor fused_db = fused_d.gradient(reduce_sum(square(dense(xd, kd, b, "relu"))), b);
  const Tensor plain_db = plain_d.gradient(reduce_sum(square(relu(dense(xd, kd, b)))), b);
  expect_tensor_near(fused_db, plain_db, 1e-12, 1e-12, "dense bias");
}

TEST(MaxPool2D, TwoByTwoMatchesAScanOfEachWindow) {
  const Shape shapes[] = {{3, 28, 28, 6}, {2, 10, 11, 16}, {2, 9, 7, 1}, {1, 4, 6, 19}};
  for (const DType dtype : {DType::Float32, DType::Float64, DType::BFloat16}) {
    for (const Shape& s : shapes) {
      SCOPED_TRACE(s.str() + " " + dtype_name(dtype));
      std::vector<double> v = random_normal(s, 0, 2, DType::Float64, 41).to_vector<double>();
      for (double& e : v) e = std::floor(e);
      const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
      const int64_t H = s[1], W = s[2], C = s[3];
      const auto at = [&](int64_t n, int64_t h, int64_t w, int64_t c) { return ((n * H + h) * W + w) * C + c; };
      for (int64_t h = 0; h < 2; ++h) {  // window (0, 0) of channel 0: all NaN; channel C-1: NaN and -inf
        for (int64_t w = 0; w < 2; ++w) {
          v[static_cast<size_t>(at(0, h, w, 0))] = nan;
          v[static_cast<size_t>(at(0, h, w, C - 1))] = (h + w) % 2 ? -inf : nan;
        }
      }
      if (C > 1) v[static_cast<size_t>(at(0, 0, 2, 1))] = nan;  // one NaN among numbers
      const Tensor x = constant(v, s, dtype);
      const auto out = call_op("max_pool2d", {x}, Attrs{{"window", std::vector<int64_t>{2, 2}}});
      const int64_t oh = H / 2, ow = W / 2;
      ASSERT_EQ(out[0].shape(), Shape({s[0], oh, ow, C}));
      const auto y = cast(out[0], DType::Float64).to_vector<double>();
      const auto arg = out[1].to_vector<int64_t>();
      std::vector<double> expected_dx(v.size(), 0.0);
      const auto dy = random_normal(out[0].shape(), 0, 1, DType::Float64, 42).to_vector<double>();
      for (int64_t n = 0; n < s[0]; ++n) {
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            for (int64_t c = 0; c < C; ++c) {
              double best = -inf;
              int64_t key = at(n, 2 * i, 2 * j, c);
              for (int64_t h = 2 * i; h < 2 * i + 2; ++h) {
                for (int64_t w = 2 * j; w < 2 * j + 2; ++w) {
                  if (v[static_cast<size_t>(at(n, h, w, c))] > best) {
                    best = v[static_cast<size_t>(at(n, h, w, c))];
                    key = at(n, h, w, c);
                  }
                }
              }
              const size_t o = static_cast<size_t>(((n * oh + i) * ow + j) * C + c);
              ASSERT_EQ(y[o], best) << o;
              ASSERT_EQ(arg[o], key) << o;
              expected_dx[static_cast<size_t>(key)] += dy[o];
            }
          }
        }
      }
      EXPECT_EQ(y[0], -inf) << "a window of NaNs";
      const Tensor dx = call_op("max_pool2d_grad", std::vector<Tensor>{constant(dy, out[0].shape(), DType::Float64), out[1]},
                                Attrs{{"input_shape", s.vec()}})[0];
      EXPECT_EQ(dx.to_vector<double>(), expected_dx);
    }
  }
}

// A layout that stores every element where another does needs no reorder: 16 channels blocked
// by 16 are NHWC; 32 channels (two blocks) or 6 (padded to 16) are not; one channel in NCHW is NHWC.
TEST(OneDnn, SameBytesFindsLayoutsThatNeedNoReorder) {
  using dnnl::memory;
  const auto desc = [](memory::dims d, memory::format_tag tag) { return memory::desc(d, memory::data_type::f32, tag); };
  EXPECT_TRUE(onednn::same_bytes(desc({8, 16, 5, 7}, memory::format_tag::nhwc), desc({8, 16, 5, 7}, memory::format_tag::nChw16c)));
  EXPECT_FALSE(onednn::same_bytes(desc({8, 32, 5, 7}, memory::format_tag::nhwc), desc({8, 32, 5, 7}, memory::format_tag::nChw16c)));
  EXPECT_FALSE(onednn::same_bytes(desc({8, 6, 5, 7}, memory::format_tag::nhwc), desc({8, 6, 5, 7}, memory::format_tag::nChw16c)));
  EXPECT_FALSE(onednn::same_bytes(desc({8, 16, 5, 7}, memory::format_tag::nhwc), desc({8, 16, 5, 7}, memory::format_tag::nchw)));
  EXPECT_TRUE(onednn::same_bytes(desc({8, 1, 5, 7}, memory::format_tag::nhwc), desc({8, 1, 5, 7}, memory::format_tag::nchw)));
  EXPECT_FALSE(onednn::same_bytes(desc({8, 16, 5, 7}, memory::format_tag::nhwc), desc({8, 16, 7, 5}, memory::format_tag::nhwc)));
}

TEST(OneDnn, TrainingStepsCreateNoPrimitiveAfterTheFirst) {
  const Tensor x = random_normal({8, 12, 12, 3}, 0, 1, DType::Float32, 8);
  Variable w(random_normal({3, 3, 3, 8}, 0, 0.1, DType::Float32, 9)), b(zeros({8}));
  Variable k(random_normal({6 * 6 * 8, 10}, 0, 0.1, DType::Float32, 10)), kb(zeros({10}));
  const Tensor labels = constant({0, 1, 2, 3, 4, 5, 6, 7});
  auto step = [&] {
    GradientTape tape;
    Conv2DOptions o;
    o.padding = "same";
    Tensor h = relu(conv2d(x, w, b, o));
    h = max_pool2d(h);
    const auto bn = batch_norm_training(h, ones({8}), zeros({8}));
    const Tensor logits = dense(reshape(bn.y, {8, -1}), k, kb, "relu");
    const Tensor loss = reduce_mean(sparse_softmax_cross_entropy_with_logits(labels, logits));
    const auto grads = tape.gradient(loss, std::vector<Tensor>{w, b, k, kb});
    w.assign_sub(grads[0] * 0.01);
    k.assign_sub(grads[2] * 0.01);
  };
  step();
  const int64_t after_first = onednn::primitive_creations();
  EXPECT_GT(after_first, 0);
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(onednn::primitive_creations(), after_first);
}

TEST(Activations, ByKerasName) {
  const Tensor x = constant({-1.0, 0.5});
  EXPECT_EQ(activation(x, "relu").to_vector<float>(), (std::vector<float>{0, 0.5f}));
  EXPECT_EQ(activation(x, "linear").id(), x.id());
  EXPECT_NEAR(activation(x, "swish").to_vector<float>()[1], 0.5 / (1 + std::exp(-0.5)), 1e-6);
  expect_error<InvalidArgument>([&] { activation(x, "mish"); }, "[activation] unknown activation 'mish'");
  EXPECT_NEAR(dense(x[{NewAxis}], ones({2, 1}), Tensor(), "softplus").item<float>(), std::log1p(std::exp(-0.5)), 1e-6)
      << "activations oneDNN cannot fuse are applied after the matmul";
}

}  // namespace
}  // namespace loom::testing
