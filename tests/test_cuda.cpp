// The CUDA backend on a real GPU: every golden op case on GPU:0 against the expected values,
// random numbers equal to the CPU's, training on the GPU, convolutions on cuDNN and on im2col,
// memory limits and precision modes.
// Without a GPU these tests skip with the reason.
#include <cstdlib>
#include <map>
#include <set>

#include "ops/registry.hpp"
#include "loom/testing/fault_injection.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

bool gpu_available() { return !list_physical_devices("GPU").empty(); }

#define REQUIRE_GPU()                                                                          \
  if (!gpu_available()) {                                                                      \
    GTEST_SKIP() << "no GPU: loom lists no GPU devices on this machine (built without CUDA, " \
                    "or no GPU/driver); bench/gpu_check.sh runs these on a GPU";               \
  }

TEST(Cuda, DevicesAreListedWithTheirFacts) {
  REQUIRE_GPU();
  const auto gpus = list_physical_devices("GPU");
  EXPECT_EQ(gpus[0].name, "GPU:0");
  EXPECT_GT(gpus[0].total_memory, 0);
  EXPECT_GE(gpus[0].compute_capability_major, 7);
  std::printf("GPU:0 = %s, %.1f GiB\n", gpus[0].description.c_str(), static_cast<double>(gpus[0].total_memory) / (1 << 30));
}

// Every golden case, run on GPU:0 (inputs built there, in their layouts), against NumPy/PyTorch.
TEST(Cuda, GoldenCasesMatchOnTheGpu) {
  REQUIRE_GPU();
  std::map<std::string, int> checked;
  for (const auto& c : golden_cases()) {
    const std::string op = c.at("op");
    if (op == "no_such_op") continue;
    const std::string context = op + " " + c.at("attrs").dump();
    SCOPED_TRACE(context);
    if (std::getenv("LOOM_TEST_VERBOSE")) std::fprintf(stderr, "case %s\n", context.c_str());
    DeviceScope gpu("GPU:0");
    std::vector<Tensor> inputs;
    for (const auto& in : c.at("inputs")) inputs.push_back(tensor_from_json(in));
    if (c.contains("error")) {
      EXPECT_THROW(call_op(op, inputs, attrs_from_json(c.at("attrs"))), Error);
      continue;
    }
    std::vector<Tensor> outputs;
    try {
      outputs = call_op(op, inputs, attrs_from_json(c.at("attrs")));
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    if (!c.contains("outputs")) continue;  // a gradient row of a random op (dropout)
    ASSERT_EQ(outputs.size(), c.at("outputs").size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      EXPECT_EQ(outputs[i].device().str(), "GPU:0");
      const Tensor expected = tensor_from_json(c.at("outputs")[i]).to("CPU:0");
      auto [rtol, atol] = tolerance_for(expected.dtype());
      if (expected.dtype() == DType::Float32) {
        rtol = 2e-4;  // other summation orders, fused multiply-adds
        atol = 1e-5;
      }
      if (c.contains("tol")) {
        rtol = std::max(rtol, c.at("tol")[0].get<double>());
        atol = std::max(atol, c.at("tol")[1].get<double>());
      }
      expect_tensor_near(outputs[i].to("CPU:0"), expected, rtol, atol, context);
    }
    ++checked[op];
  }
  EXPECT_GT(checked.size(), 80u);
}

// The gradient rows of the op table on the GPU: d(sum(outputs * weights))/d(inputs) there equals
// the CPU's (the CPU's is checked against finite differences in test_gradients.cpp).
std::vector<Tensor> weighted_gradients(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  GradientTape tape;
  std::vector<Tensor> sources;
  for (const Tensor& x : inputs) {
    if (x.dtype() == DType::Float64) sources.push_back(x);
  }
  tape.watch(sources);
  Tensor loss = zeros({}, DType::Float64);
  uint64_t seed = 77;
  for (const Tensor& out : call_op(op, inputs, attrs)) {
    if (out.dtype() == DType::Float64) loss = loss + reduce_sum(out * random_normal(out.shape(), 0, 1, DType::Float64, seed++));
  }
  return tape.gradient(loss, sources, {}, UnconnectedGradients::Zero);
}

TEST(Cuda, GradientsOfTheOpTableMatchTheCpu) {
  REQUIRE_GPU();
  int checked = 0;
  for (const auto& c : golden_cases()) {
    if (!c.contains("grad")) continue;
    const std::string op = c.at("op");
    SCOPED_TRACE(op + " " + c.at("attrs").dump());
    const Attrs attrs = attrs_from_json(c.at("attrs"));
    std::vector<Tensor> cpu_inputs, gpu_inputs;
    for (const auto& in : c.at("inputs")) {
      cpu_inputs.push_back(tensor_from_json(in));
      gpu_inputs.push_back(cpu_inputs.back().to("GPU:0"));
    }
    const std::vector<Tensor> on_cpu = weighted_gradients(op, cpu_inputs, attrs);
    std::vector<Tensor> on_gpu;
    {
      DeviceScope gpu("GPU:0");
      on_gpu = weighted_gradients(op, gpu_inputs, attrs);
    }
    ASSERT_EQ(on_gpu.size(), on_cpu.size());
    for (size_t i = 0; i < on_cpu.size(); ++i) {
      EXPECT_EQ(on_gpu[i].device().str(), "GPU:0");
      expect_tensor_near(on_gpu[i].to("CPU:0"), on_cpu[i], 1e-10, 1e-12, "gradient " + std::to_string(i));
    }
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

// The op x device matrix: a kernel op without a CUDA kernel must be listed here on purpose.
TEST(Cuda, OpDeviceMatrix) {
  // adam_update, relu_bias_grad, conv2d_relu_max_pool2d and its filter gradient run their
  // fallbacks there (the composites of the ops they fuse on the CPU).
  const std::set<std::string> cpu_only = {"adam_update", "relu_bias_grad", "conv2d_relu_max_pool2d",
                                          "conv2d_relu_max_pool2d_backprop_filter"};
  const bool have_gpu = gpu_available();  // loads the CUDA backend (and its kernels) first
  std::printf("%-40s CPU GPU\n", "op");
  for (const OpDef* op : all_ops()) {
    if (op->kind != OpKind::Kernel && op->kind != OpKind::InPlace) {
      std::printf("%-40s (composed of other ops)\n", op->name.c_str());
      continue;
    }
    const bool cpu = op->kernels[0].fn != nullptr, gpu = op->kernels[1].fn != nullptr;
    std::printf("%-40s %s   %s\n", op->name.c_str(), cpu ? "yes" : " no", gpu ? "yes" : " no");
    EXPECT_TRUE(cpu) << op->name << " has no CPU kernel (the CPU is the reference)";
    if (have_gpu && !cpu_only.count(op->name)) {
      EXPECT_TRUE(gpu) << op->name << " has no CUDA kernel";
    }
  }
}

TEST(Cuda, RandomNumbersEqualTheCpus) {
  REQUIRE_GPU();
  const Tensor cpu = random_normal({1000}, 0, 1, DType::Float32, 5);
  Tensor gpu;
  {
    DeviceScope s("GPU:0");
    gpu = random_normal({1000}, 0, 1, DType::Float32, 5);
  }
  EXPECT_EQ(gpu.device().str(), "GPU:0");
  expect_tensor_near(gpu.to("CPU:0"), cpu, 1e-6, 1e-6, "same seed, same values");
  DeviceScope s("GPU:0");
  expect_tensor_near(truncated_normal({500}, 0, 1, DType::Float64, 6).to("CPU:0"),
                     [] { DeviceScope c("CPU:0"); return truncated_normal({500}, 0, 1, DType::Float64, 6); }(), 1e-12, 1e-12);
}

TEST(Cuda, PlacementCopiesAndErrors) {
  REQUIRE_GPU();
  const Tensor c = constant({1.0, 2.0, 3.0});
  const Tensor g = c.to("GPU:0");
  EXPECT_EQ(g.device().str(), "GPU:0");
  EXPECT_EQ(g.to("CPU:0").to_vector<float>(), c.to_vector<float>());
  expect_error<DeviceError>([&] { add(c, g); }, "[add] inputs are on different devices: input 0 on CPU:0, input 1 on GPU:0");
  {
    DeviceScope s("GPU:0");
    const Tensor sum = add(c, c);  // CPU inputs are copied to the pinned device
    EXPECT_EQ(sum.device().str(), "GPU:0");
    EXPECT_EQ(sum.to_vector<float>(), (std::vector<float>{2, 4, 6}));
  }
  GradientTape tape;
  tape.watch(c);
  const Tensor y = reduce_sum(square(c.to("GPU:0")));
  EXPECT_EQ(tape.gradient(y, c).to_vector<float>(), (std::vector<float>{2, 4, 6})) << "gradients flow back across devices";
  expect_error<DeviceError>([] { DeviceScope s("GPU:7"); }, "GPU:7 is not available");
}

TEST(Cuda, TrainingOnTheGpuMatchesTheCpu) {
  REQUIRE_GPU();
  auto train = [](const char* device) {
    DeviceScope s(device);
    set_seed(3);
    const Tensor x = random_normal({256, 20}, 0, 1, DType::Float32, 1);
    const Tensor y = argmax(matmul(x, random_normal({20, 4}, 0, 1, DType::Float32, 2)), 1);
    auto model = std::make_shared<nn::Sequential>(std::vector<nn::LayerPtr>{std::make_shared<nn::Dense>(32, "relu"),
                                                                              std::make_shared<nn::Dense>(4)}, Shape{20});
    model->compile(nn::SGD(0.1), nn::SparseCategoricalCrossentropy(true), {nn::SparseCategoricalAccuracy()});
    nn::FitOptions o;
    o.epochs = 3;
    o.verbose = 0;
    o.seed = 4;
    o.shuffle = false;
    const auto h = model->fit(x, y, o);
    EXPECT_EQ(model->weights()[0].device().str(), device);
    return std::make_pair(h.history.at("loss").back(), model->get_weights()[0].to("CPU:0"));
  };
  const auto [cpu_loss, cpu_w] = train("CPU:0");
  const auto [gpu_loss, gpu_w] = train("GPU:0");
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-3);
  expect_tensor_near(gpu_w, cpu_w, 1e-3, 1e-4, "weights after training");
}

// An allocation failure at any point of a GPU training step leaves every weight as it was.
TEST(Cuda, InjectedAllocationFailuresInAGpuStepChangeNoWeight) {
  REQUIRE_GPU();
  DeviceScope s("GPU:0");
  set_seed(5);
  const Tensor x = random_normal({16, 8, 8, 1}, 0, 1, DType::Float32, 1);
  const Tensor y = argmax(random_normal({16, 3}, 0, 1, DType::Float32, 2), 1);
  auto model = std::make_shared<nn::Sequential>(
      std::vector<nn::LayerPtr>{std::make_shared<nn::Conv2D>(4, std::vector<int64_t>{3, 3}),
                                std::make_shared<nn::BatchNormalization>(), std::make_shared<nn::Flatten>(),
                                std::make_shared<nn::Dense>(3)},
      Shape{8, 8, 1});
  model->compile(nn::Adam(0.01), nn::SparseCategoricalCrossentropy(true));
  auto snapshot = [&] {
    std::vector<std::vector<float>> out;
    for (const Tensor& w : model->get_weights()) out.push_back(w.to_vector<float>());
    return out;
  };
  int failures = 0;
  for (int64_t k = 0; k < 2000; ++k) {
    const auto before = snapshot();
    fault_injection::fail_allocation_after("GPU:0", k);
    bool failed = false;
    try {
      model->train_step(x, y);
    } catch (const OutOfMemoryError&) {
      failed = true;
    }
    fault_injection::fail_allocation_after("GPU:0", -1);
    if (!failed) break;
    ++failures;
    ASSERT_EQ(snapshot(), before) << "GPU allocation " << k << " failed and weights changed";
  }
  EXPECT_GT(failures, 50);
}

TEST(Cuda, ConvNetOnTheGpu) {
  REQUIRE_GPU();
  const Tensor x = random_normal({8, 12, 12, 3}, 0, 1, DType::Float32, 7);
  const Tensor w = random_normal({3, 3, 3, 4}, 0, 0.2, DType::Float32, 8);
  Conv2DOptions o;
  o.padding = "same";
  o.strides = {2, 2};
  auto loss_and_grad = [&](const char* device) {
    DeviceScope s(device);
    const Tensor xd = x.to(device), wd = w.to(device);
    GradientTape tape;
    tape.watch(std::vector<Tensor>{xd, wd});
    const Tensor y = max_pool2d(relu(conv2d(xd, wd, Tensor(), o)), {{2, 2}, {}, "same"});
    const Tensor loss = reduce_sum(batch_norm_training(y, ones({4}), zeros({4})).y * y);
    auto g = tape.gradient(loss, std::vector<Tensor>{xd, wd});
    return std::vector<Tensor>{loss.to("CPU:0"), g[0].to("CPU:0"), g[1].to("CPU:0")};
  };
  const auto cpu = loss_and_grad("CPU:0"), gpu = loss_and_grad("GPU:0");
  for (size_t i = 0; i < cpu.size(); ++i) expect_tensor_near(gpu[i], cpu[i], 1e-3, 1e-4, "conv net " + std::to_string(i));
}

// GPU convolutions take cuDNN where it accepts the case and loom's im2col kernels otherwise
// (asymmetric padding, or set_cudnn_enabled(false)): both routes, forward and the three
// gradients, against the CPU on cases that exercise strides, dilation, groups and float64.
TEST(Cuda, ConvolutionsAgreeOnCudnnAndIm2col) {
  REQUIRE_GPU();
  struct Case {
    Shape x, w;
    Conv2DOptions o;
    DType dtype;
  };
  auto opts = [](std::vector<int64_t> strides, Padding padding, std::vector<int64_t> dilations, int64_t groups) {
    Conv2DOptions o;
    o.strides = std::move(strides);
    o.padding = std::move(padding);
    o.dilations = std::move(dilations);
    o.groups = groups;
    return o;
  };
  const std::vector<Case> cases{
      {{4, 9, 9, 3}, {3, 3, 3, 8}, opts({1, 1}, "same", {1, 1}, 1), DType::Float32},
      {{4, 10, 10, 4}, {4, 4, 4, 6}, opts({2, 2}, "same", {1, 1}, 1), DType::Float32},  // pads 1 top, 2 bottom
      {{2, 11, 11, 4}, {3, 3, 2, 6}, opts({1, 2}, "valid", {2, 1}, 2), DType::Float32},
      {{2, 8, 8, 6}, {3, 3, 1, 6}, opts({1, 1}, Padding(1, 1, 2, 2), {1, 1}, 6), DType::Float32},  // depthwise
      {{3, 7, 7, 2}, {3, 3, 2, 5}, opts({1, 1}, "same", {1, 1}, 1), DType::Float64},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string name = "case " + std::to_string(index++);
    const Tensor x = random_normal(c.x, 0, 1, c.dtype, 21), w = random_normal(c.w, 0, 0.3, c.dtype, 22);
    const Tensor b = random_normal({c.w[3]}, 0, 1, c.dtype, 23);
    const Tensor r = random_normal(conv2d(x, w, b, c.o).shape(), 0, 1, c.dtype, 24);
    auto run = [&](const char* device) {
      DeviceScope s(device);
      const Tensor xd = x.to(device), wd = w.to(device), bd = b.to(device);
      GradientTape tape;
      tape.watch(std::vector<Tensor>{xd, wd, bd});
      const Tensor y = conv2d(xd, wd, bd, c.o);
      auto g = tape.gradient(reduce_sum(y * r.to(device)), std::vector<Tensor>{xd, wd, bd});
      return std::vector<Tensor>{y.to("CPU:0"), g[0].to("CPU:0"), g[1].to("CPU:0"), g[2].to("CPU:0")};
    };
    const auto cpu = run("CPU:0");
    for (const bool cudnn : {true, false}) {
      set_cudnn_enabled(cudnn);
      const auto gpu = run("GPU:0");
      set_cudnn_enabled(true);
      for (size_t i = 0; i < cpu.size(); ++i)
        expect_tensor_near(gpu[i], cpu[i], 1e-4, 1e-4, name + (cudnn ? " cudnn " : " im2col ") + std::to_string(i));
    }
  }
}

// float16 and bfloat16 convolutions (the mixed-precision policies) on cuDNN's tensor cores, and
// widened to float32 where cuDNN declines (asymmetric padding; cuDNN off): forward and both
// gradients against float64 on the CPU, within each dtype's rounding of inputs and outputs.
TEST(Cuda, HalfConvolutionsMatchFloat64) {
  REQUIRE_GPU();
  Conv2DOptions same, asymmetric;
  same.padding = "same";
  asymmetric.padding = Padding(1, 2, 0, 1);
  for (const DType half : {DType::Float16, DType::BFloat16}) {
    for (const Conv2DOptions& o : {same, asymmetric}) {
      // Inputs exactly representable in the 16-bit dtype, so that the reference sees the same.
      const Tensor x = cast(cast(random_normal({4, 12, 12, 16}, 0, 1, DType::Float32, 51), half), DType::Float64);
      const Tensor w = cast(cast(random_normal({3, 3, 16, 32}, 0, 0.2, DType::Float32, 52), half), DType::Float64);
      const Tensor r = cast(cast(random_normal(conv2d(x, w, Tensor(), o).shape(), 0, 1, DType::Float32, 53), half), DType::Float64);
      auto run = [&](const Tensor& xs, const Tensor& ws, const Tensor& rs) {
        GradientTape tape;
        tape.watch(std::vector<Tensor>{xs, ws});
        const Tensor y = conv2d(xs, ws, Tensor(), o);
        const auto g = tape.gradient(std::vector<Tensor>{y}, std::vector<Tensor>{xs, ws}, std::vector<Tensor>{rs});
        return std::vector<Tensor>{y, g[0], g[1]};
      };
      const auto ref = run(x, w, r);
      for (const bool cudnn : {true, false}) {
        set_cudnn_enabled(cudnn);
        std::vector<Tensor> got;
        {
          DeviceScope s("GPU:0");
          got = run(cast(x, half).to("GPU:0"), cast(w, half).to("GPU:0"), cast(r, half).to("GPU:0"));
        }
        set_cudnn_enabled(true);
        for (size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].dtype(), half);
          const double scale = reduce_max(abs(ref[i])).item<double>();
          const double err = reduce_max(abs(cast(got[i].to("CPU:0"), DType::Float64) - ref[i])).item<double>();
          EXPECT_LT(err, (half == DType::Float16 ? 4e-3 : 2e-2) * scale)
              << dtype_name(half) << (cudnn ? " cudnn " : " widened ") << "output " << i;
        }
      }
    }
  }
}

TEST(Cuda, MemoryStatsLimitsAndOutOfMemory) {
  REQUIRE_GPU();
  synchronize("GPU:0");
  const int64_t before = memory_stats("GPU:0").live_bytes;
  {
    DeviceScope s("GPU:0");
    const Tensor t = zeros({1 << 20});
    EXPECT_GE(memory_stats("GPU:0").live_bytes, before + (4 << 20));
  }
  EXPECT_EQ(memory_stats("GPU:0").live_bytes, before);
  EXPECT_GT(memory_stats("GPU:0").cached_bytes, 0) << "freed blocks stay cached";
  empty_cache("GPU:0");
  EXPECT_EQ(memory_stats("GPU:0").cached_bytes, 0);
  set_memory_limit("GPU:0", before + (8 << 20));
  {
    DeviceScope s("GPU:0");
    expect_error<OutOfMemoryError>([] { zeros({16 << 20}); }, "out of memory on GPU:0: requested 67108864 bytes");
    EXPECT_EQ(zeros({1024}).numel(), 1024) << "a failed allocation leaves the library usable";
  }
  set_memory_limit("GPU:0", 0);
}

TEST(Cuda, Float32PrecisionModesAndHalfMatmul) {
  REQUIRE_GPU();
  DeviceScope s("GPU:0");
  const Tensor a = random_normal({256, 256}, 0, 1, DType::Float32, 9), b = random_normal({256, 256}, 0, 1, DType::Float32, 10);
  const Tensor exact = matmul(cast(a, DType::Float64), cast(b, DType::Float64));
  const double full = reduce_max(abs(cast(matmul(a, b), DType::Float64) - exact)).item<double>();
  set_float32_matmul_precision("high");
  const double tf32 = reduce_max(abs(cast(matmul(a, b), DType::Float64) - exact)).item<double>();
  set_float32_matmul_precision("highest");
  EXPECT_LT(full, 1e-3);
  EXPECT_LT(tf32, 0.5) << "TF32 keeps ~3 decimal digits";
  for (DType half : {DType::Float16, DType::BFloat16}) {
    const Tensor h = matmul(cast(a, half), cast(b, half));
    EXPECT_EQ(h.dtype(), half);
    EXPECT_LT(reduce_max(abs(cast(h, DType::Float64) - exact)).item<double>(), half == DType::Float16 ? 0.5 : 2.0);
  }
  expect_error<InvalidArgument>([] { set_float32_matmul_precision("medium"); }, "must be \"highest\" or \"high\"");
}

}  // namespace
}  // namespace loom::testing
