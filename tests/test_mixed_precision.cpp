// Mixed precision: 16-bit float compute on the CPU (accumulating in float32), dtype policies
// with float32 variables, and loss scaling.
#include <cmath>
#include <filesystem>
#include <limits>

#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

// Restores the float32 global policy however a test ends.
struct GlobalPolicy {
  explicit GlobalPolicy(const std::string& name) { set_global_policy(name); }
  ~GlobalPolicy() { set_global_policy("float32"); }
};

// Values of `x` rounded to `dtype` and back to float64: the exact inputs a 16-bit op sees.
Tensor rounded(const Tensor& x, DType dtype) { return cast(cast(x, dtype), DType::Float64); }

// A bfloat16 result against float64 on the same (rounded) inputs: within a few bfloat16 ulps
// of the result's scale, which is what float32 accumulation and one final rounding give.
void expect_bf16_close(const Tensor& actual, const Tensor& reference, const std::string& what) {
  ASSERT_EQ(actual.dtype(), DType::BFloat16) << what;
  const double scale = reduce_max(abs(reference)).item<double>();
  const double worst = reduce_max(abs(cast(actual, DType::Float64) - reference)).item<double>();
  EXPECT_LE(worst, scale * std::ldexp(1.0, -7)) << what << ": worst difference " << worst << " at scale " << scale;
}

TEST(MixedPrecision, SixteenBitOpsOnTheCpuAccumulateInFloat32) {
  // 1000 ones: a bfloat16 accumulator stops at 256; float32 accumulation gives 1000 exactly.
  EXPECT_EQ(reduce_sum(ones({1000}, DType::BFloat16)).item<double>(), 1000.0);
  EXPECT_EQ(reduce_sum(ones({1000}, DType::Float16)).item<double>(), 1000.0);
  EXPECT_EQ(reduce_mean(ones({4096}, DType::BFloat16)).item<double>(), 1.0);

  const Tensor a = rounded(random_normal({3, 40, 64}, 0, 1, DType::Float64, 1), DType::BFloat16);
  const Tensor b = rounded(random_normal({64, 24}, 0, 1, DType::Float64, 2), DType::BFloat16);
  const auto bf = [](const Tensor& t) { return cast(t, DType::BFloat16); };
  expect_bf16_close(matmul(bf(a), bf(b)), matmul(a, b), "matmul");
  const Tensor bias = rounded(random_normal({24}, 0, 1, DType::Float64, 12), DType::BFloat16);
  expect_bf16_close(dense(bf(a), bf(b), bf(bias), "relu"), dense(a, b, bias, "relu"), "dense (oneDNN bf16)");
  expect_bf16_close(softmax(bf(a)), softmax(a), "softmax");
  expect_bf16_close(log_softmax(bf(a)), log_softmax(a), "log_softmax");
  expect_bf16_close(tanh(bf(a)) * bf(a) + bf(a), tanh(a) * a + a, "elementwise");

  const Tensor x = rounded(random_normal({2, 9, 9, 3}, 0, 1, DType::Float64, 3), DType::BFloat16);
  const Tensor f = rounded(random_normal({3, 3, 3, 5}, 0, 0.5, DType::Float64, 4), DType::BFloat16);
  expect_bf16_close(conv2d(bf(x), bf(f)), conv2d(x, f), "conv2d");
  expect_bf16_close(max_pool2d(bf(x)), max_pool2d(x), "max_pool2d");
  expect_bf16_close(avg_pool2d(bf(x)), avg_pool2d(x), "avg_pool2d");
  const Tensor gamma = rounded(random_uniform({3}, 0.5, 1.5, DType::Float64, 5), DType::BFloat16);
  const Tensor beta = rounded(random_normal({3}, 0, 1, DType::Float64, 6), DType::BFloat16);
  expect_bf16_close(batch_norm_training(bf(x), bf(gamma), bf(beta)).y, batch_norm_training(x, gamma, beta).y,
                    "batch_norm");
  // Dropout keeps the float32 mask of the same seed, scaled by 1 / (1 - rate) = 2.
  const Tensor dropped = dropout(ones({1000}, DType::BFloat16), 0.5, true, 7);
  EXPECT_EQ(dropped.dtype(), DType::BFloat16);
  EXPECT_EQ(cast(dropped, DType::Float32).to_vector<float>(), dropout(ones({1000}), 0.5, true, 7).to_vector<float>());
  const Tensor labels = constant(std::vector<int64_t>{1, 0, 4});
  const Tensor logits = rounded(random_normal({3, 5}, 0, 2, DType::Float64, 7), DType::BFloat16);
  expect_bf16_close(sparse_softmax_cross_entropy_with_logits(labels, bf(logits)),
                    sparse_softmax_cross_entropy_with_logits(labels, logits), "sparse cross-entropy");
}

// bfloat16 matmul runs on oneDNN: transposed operands (by attribute or as strided views),
// batches with broadcasting and a shared right operand, and empty inner dimensions.
TEST(MixedPrecision, Bfloat16MatmulsMatchFloat64) {
  const auto r = [](const Shape& shape, uint64_t seed) {
    return rounded(random_normal(shape, 0, 1, DType::Float64, seed), DType::BFloat16);
  };
  const auto bf = [](const Tensor& t) { return cast(t, DType::BFloat16); };
  const Tensor a = r({33, 70}, 20), b = r({70, 17}, 21), at = r({70, 33}, 22), bt = r({17, 70}, 23);
  expect_bf16_close(matmul(bf(a), bf(b)), matmul(a, b), "plain");
  expect_bf16_close(matmul(bf(at), bf(bt), true, true), matmul(at, bt, true, true), "transpose_a and transpose_b");
  expect_bf16_close(matmul(transpose(bf(at)), bf(b)), matmul(transpose(at), b), "a transposed view");
  expect_bf16_close(matmul(bf(a), transpose(bf(bt))), matmul(a, transpose(bt)), "b transposed view");
  const Tensor left = r({2, 1, 5, 7}, 24), right = r({3, 7, 4}, 25);
  expect_bf16_close(matmul(bf(left), bf(right)), matmul(left, right), "broadcast batches");
  const Tensor wide = matmul(bf(left), bf(right));
  EXPECT_EQ(wide.shape(), Shape({2, 3, 5, 4}));
  const Tensor none = matmul(zeros({4, 0}, DType::BFloat16), zeros({0, 3}, DType::BFloat16));
  EXPECT_EQ(none.dtype(), DType::BFloat16);
  EXPECT_EQ(cast(none, DType::Float32).to_vector<float>(), std::vector<float>(12, 0.0f));
}

TEST(MixedPrecision, GradientsOfSixteenBitOpsMatchFloat64) {
  const Tensor x64 = rounded(random_normal({4, 6}, 0, 1, DType::Float64, 8), DType::BFloat16);
  const Tensor w64 = rounded(random_normal({6, 3}, 0, 1, DType::Float64, 9), DType::BFloat16);
  auto grads = [](const Tensor& x, const Tensor& w) {
    GradientTape tape;
    tape.watch(x);
    tape.watch(w);
    const Tensor loss = reduce_sum(tanh(matmul(x, w)) * matmul(x, w));
    return tape.gradient(loss, {x, w});
  };
  const auto low = grads(cast(x64, DType::BFloat16), cast(w64, DType::BFloat16));
  const auto exact = grads(x64, w64);
  expect_bf16_close(low[0], exact[0], "d/dx");
  expect_bf16_close(low[1], exact[1], "d/dw");

  // Batch norm's bfloat16 kernels (float32 inside, double sums) and the bias-gradient sum.
  const Tensor b64 = rounded(random_normal({6, 5, 5, 4}, 1, 2, DType::Float64, 13), DType::BFloat16);
  const Tensor gamma64 = rounded(random_uniform({4}, 0.5, 1.5, DType::Float64, 14), DType::BFloat16);
  const Tensor beta64 = rounded(random_normal({4}, 0, 1, DType::Float64, 15), DType::BFloat16);
  auto bn_grads = [](const Tensor& x, const Tensor& gamma, const Tensor& beta) {
    GradientTape tape;
    tape.watch(std::vector<Tensor>{x, gamma, beta});
    const BatchNormResult r = batch_norm_training(x, gamma, beta);
    std::vector<Tensor> g = tape.gradient(reduce_sum(r.y * r.y * x), {x, gamma, beta});
    g.insert(g.begin(), {r.y, r.batch_mean, r.batch_variance, reduce_sum(x, std::vector<int64_t>{0, 1, 2})});
    return g;
  };
  const auto bf = [](const Tensor& t) { return cast(t, DType::BFloat16); };
  const auto bn_low = bn_grads(bf(b64), bf(gamma64), bf(beta64));
  const auto bn_exact = bn_grads(b64, gamma64, beta64);
  const char* names[] = {"batch_norm y", "mean", "variance", "channel sums", "d/dx", "d/dgamma", "d/dbeta"};
  for (size_t i = 0; i < bn_exact.size(); ++i) expect_bf16_close(bn_low[i], bn_exact[i], names[i]);
}

// bfloat16 convolutions run on oneDNN's bf16 kernels (float32 accumulation): the forward pass and
// both gradients stay within bfloat16's tolerance of float64, for few input channels (the
// gradient computed as a forward convolution), many, and strides of 2.
TEST(MixedPrecision, Bfloat16ConvolutionsAndTheirGradientsMatchFloat64) {
  for (const auto& [c_in, stride] : std::vector<std::pair<int64_t, int64_t>>{{3, 1}, {16, 1}, {16, 2}}) {
    const std::string what = "c_in " + std::to_string(c_in) + ", stride " + std::to_string(stride);
    const Tensor x64 = rounded(random_normal({2, 10, 10, c_in}, 0, 1, DType::Float64, 10), DType::BFloat16);
    const Tensor f64 = rounded(random_normal({3, 3, c_in, 8}, 0, 0.3, DType::Float64, 11), DType::BFloat16);
    Conv2DOptions o;
    o.strides = {stride, stride};
    o.padding = std::string("same");
    auto grads = [&](const Tensor& x, const Tensor& f) {
      GradientTape tape;
      tape.watch(x);
      tape.watch(f);
      const Tensor y = conv2d(x, f, Tensor(), o);
      std::vector<Tensor> g = tape.gradient(reduce_sum(y * y), {x, f});
      g.insert(g.begin(), y);
      return g;
    };
    const auto low = grads(cast(x64, DType::BFloat16), cast(f64, DType::BFloat16));
    const auto exact = grads(x64, f64);
    expect_bf16_close(low[0], exact[0], "conv2d, " + what);
    expect_bf16_close(low[1], exact[1], "d/dx, " + what);
    expect_bf16_close(low[2], exact[2], "d/dfilter, " + what);
  }
}

TEST(MixedPrecision, PoliciesComputeInBfloat16WithFloat32Variables) {
  expect_error<InvalidArgument>([] { Policy("mixed_int8"); }, "unknown dtype policy 'mixed_int8'");
  const GlobalPolicy mixed("mixed_bfloat16");
  auto dense = std::make_shared<Dense>(4, "relu");
  auto head = std::make_shared<Activation>("softmax");
  head->set_dtype_policy(Policy("float32"));  // Keras' advice: outputs in float32
  EXPECT_EQ(dense->dtype_policy().name(), "mixed_bfloat16");
  const Tensor x = random_normal({8, 5}, 0, 1, DType::Float32, 10);
  GradientTape tape;
  const Tensor h = (*dense)(x, true);
  EXPECT_EQ(h.dtype(), DType::BFloat16);
  for (const Variable& v : dense->weights()) EXPECT_EQ(v.dtype(), DType::Float32) << v.name();
  const Tensor y = (*head)(h, true);
  EXPECT_EQ(y.dtype(), DType::Float32);
  const Tensor loss = reduce_sum(y * y);
  const std::vector<Variable> vars = dense->trainable_weights();
  const auto g = tape.gradient(loss, std::vector<Tensor>(vars.begin(), vars.end()));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].dtype(), DType::Float32);
  EXPECT_EQ(g[0].shape(), (Shape{5, 4}));
  // The same layer computed in float64 from the same weights: bfloat16 rounding only.
  const Tensor k = cast(dense->weights()[0], DType::Float64), bias = cast(dense->weights()[1], DType::Float64);
  const Tensor reference = relu(matmul(rounded(x, DType::BFloat16), rounded(k, DType::BFloat16)) + rounded(bias, DType::BFloat16));
  expect_bf16_close(h, reference, "Dense under mixed_bfloat16");
  // A variable read outside a layer keeps its dtype; NoAutocast inside a scope too.
  {
    const AutocastScope scope(DType::BFloat16);
    EXPECT_EQ((dense->weights()[0] * 1.0).dtype(), DType::BFloat16);
    const NoAutocast exact;
    EXPECT_EQ((dense->weights()[0] * 1.0).dtype(), DType::Float32);
  }
  EXPECT_EQ((dense->weights()[0] * 1.0).dtype(), DType::Float32);
}

TEST(MixedPrecision, AMixedModelTrainsSavesAndLoadsItsPolicy) {
  TempDir dir;
  const Tensor x = random_normal({256, 10}, 0, 1, DType::Float32, 11);
  const Tensor y = argmax(matmul(x, random_normal({10, 3}, 0, 1, DType::Float32, 12)), 1);
  std::shared_ptr<Sequential> model;
  {
    const GlobalPolicy mixed("mixed_bfloat16");
    set_seed(3);
    auto out = std::make_shared<Dense>(3);
    out->set_dtype_policy(Policy("float32"));
    model = std::make_shared<Sequential>(
        std::vector<LayerPtr>{std::make_shared<Dense>(32, "relu"), std::make_shared<BatchNormalization>(), out}, Shape{10});
  }
  model->compile(Adam(0.01), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
  const History h = model->fit(x, y, quiet(10));
  EXPECT_GT(h.history.at("accuracy").back(), 0.9);
  for (const Variable& v : model->weights()) EXPECT_EQ(v.dtype(), DType::Float32) << v.name();
  model->save(dir / "mixed.loom");
  const ModelPtr back = load_model(dir / "mixed.loom");
  EXPECT_EQ(back->layers()[0]->dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(back->layers()[2]->dtype_policy().name(), "float32");
  expect_tensor_near(back->predict(x), model->predict(x), 0, 0, "reloaded mixed model");

  // An inference file with bfloat16 weights: they load as float32, equal to the rounded originals.
  model->save(dir / "inference.loom", DType::BFloat16);
  const NamedTensors file = load_safetensors(dir / "inference.loom");
  EXPECT_EQ(file.metadata.at("weights_dtype"), "bfloat16");
  for (const auto& [name, t] : file.tensors) EXPECT_EQ(t.dtype(), DType::BFloat16) << name;
  const ModelPtr half = load_model(dir / "inference.loom");
  for (size_t i = 0; i < model->weights().size(); ++i) {
    const Variable w = half->weights()[i];
    EXPECT_EQ(w.dtype(), DType::Float32) << w.name();
    expect_tensor_near(w, cast(cast(model->weights()[i], DType::BFloat16), DType::Float32), 0, 0, w.name());
  }
  expect_error<DTypeError>([&] { model->save(dir / "int.loom", DType::Int32); },
                           "[Model::save] weights_dtype must be a floating dtype (float16, bfloat16, float32, float64), got int32");
  EXPECT_FALSE(std::filesystem::exists(dir / "int.loom"));
}

TEST(MixedPrecision, LossScalingSkipsOverflowingStepsAndAdaptsTheScale) {
  Variable w(constant({1.0f, 2.0f}), "w");
  auto opt = LossScaleOptimizer(SGD(0.5), 1024, true, 2);
  EXPECT_TRUE(opt->scales_losses());
  EXPECT_EQ(opt->loss_scale(), 1024);
  // Gradients of the scaled loss are unscaled: the same step as without scaling.
  opt->apply_gradients({constant({1024.0f, -2048.0f})}, {w});
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{0.5f, 3.0f}));
  // An overflow skips the step and halves the scale.
  const float inf = std::numeric_limits<float>::infinity();
  opt->apply_gradients({constant({inf, 1.0f})}, {w});
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{0.5f, 3.0f}));
  EXPECT_EQ(opt->loss_scale(), 512);
  EXPECT_EQ(opt->iterations(), 1);
  opt->apply_gradients({constant({std::nanf(""), 1.0f})}, {w});
  EXPECT_EQ(opt->loss_scale(), 256);
  // Two finite steps in a row double it.
  opt->apply_gradients({constant({0.0f, 0.0f})}, {w});
  opt->apply_gradients({constant({0.0f, 0.0f})}, {w});
  EXPECT_EQ(opt->loss_scale(), 512);
  EXPECT_EQ(opt->iterations(), 3);
  // The scale is part of the optimizer's state and config.
  EXPECT_EQ(opt->state().at("loss_scale").item<double>(), 512);
  EXPECT_EQ(opt->get_config().get_float("loss_scale", "test"), 512);
  expect_error<InvalidArgument>([] { LossScaleOptimizer(SGD(0.1), -1); }, "initial scale must be positive");
  // compile() turns it on under mixed_float16.
  const GlobalPolicy half("mixed_float16");
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(2)}, Shape{3});
  model->compile(SGD(0.1), MeanSquaredError());
  EXPECT_EQ(model->optimizer()->loss_scale(), 32768);
}

TEST(MixedPrecision, Float16TrainingWithLossScalingLearns) {
  const GlobalPolicy half("mixed_float16");
  set_seed(4);
  const Tensor x = random_normal({256, 10}, 0, 1, DType::Float32, 13);
  const Tensor y = argmax(matmul(x, random_normal({10, 3}, 0, 1, DType::Float32, 14)), 1);
  auto out = std::make_shared<Dense>(3);
  out->set_dtype_policy(Policy("float32"));
  auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(32, "relu"), out}, Shape{10});
  model->compile(Adam(0.01), SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});
  const History h = model->fit(x, y, quiet(10));
  EXPECT_GT(h.history.at("accuracy").back(), 0.9);
  EXPECT_GT(model->optimizer()->iterations(), 70);  // few steps skipped: 80 steps were run
}

}  // namespace
}  // namespace loom::testing
