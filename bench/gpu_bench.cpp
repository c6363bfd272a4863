// GPU benchmarks: matmul (float32, TF32, bfloat16) at 4096 through loom and through raw cuBLAS
// in the same run, conv2d forward + backward (float32; the VGG layer also in bfloat16 and
// float16), an MLP train step and a LeNet-style epoch on synthetic data. Usage: gpu_bench [--json FILE]
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <loom/loom.hpp>
#include <loom/nn.hpp>

#include "bench_util.hpp"

using namespace loom;
using namespace loom::nn;

namespace {

// Best time per call of f, synchronising the GPU around each batch of calls.
double gpu_time(const std::function<void()>& f, int inner) {
  f();
  synchronize("GPU:0");
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < inner; ++i) f();
    synchronize("GPU:0");
    cudaDeviceSynchronize();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / inner);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (list_physical_devices("GPU").empty()) {
    std::fprintf(stderr, "gpu_bench: loom lists no GPU\n");
    return 1;
  }
  bench::Table table;
  DeviceScope gpu("GPU:0");
  cublasHandle_t handle;
  cublasCreate(&handle);

  const int64_t n = 4096;
  const double flops = 2.0 * n * n * n;
  for (const char* mode : {"float32", "tf32", "bfloat16"}) {
    const std::string m = mode;
    const DType dtype = m == "bfloat16" ? DType::BFloat16 : DType::Float32;
    set_float32_matmul_precision(m == "tf32" ? "high" : "highest");
    const Tensor a = cast(random_normal({n, n}, 0, 1, DType::Float32, 1), dtype);
    const Tensor b = cast(random_normal({n, n}, 0, 1, DType::Float32, 2), dtype);
    Tensor c = empty({n, n}, dtype, Device(DeviceType::GPU, 0));
    const double t_loom = gpu_time([&] { matmul(a, b); }, 10);
    const cudaDataType_t type = dtype == DType::BFloat16 ? CUDA_R_16BF : CUDA_R_32F;
    const cublasComputeType_t compute = m == "tf32" ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const float alpha = 1, beta = 0;
    const int ni = static_cast<int>(n);
    const double t_raw = gpu_time([&] {
      cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &alpha, b.data_ptr(), type, ni, a.data_ptr(), type, ni, &beta,
                   c.data_ptr(), type, ni, compute, CUBLAS_GEMM_DEFAULT);
    }, 10);
    table.add({"gpu matmul " + m + " 4096 (raw cuBLAS)", t_raw, "TFLOP/s", flops / t_raw / 1e12, "", 0});
    table.add({"gpu matmul " + m + " 4096", t_loom, "TFLOP/s", flops / t_loom / 1e12, "raw cuBLAS", t_raw / t_loom});
  }
  set_float32_matmul_precision("highest");

  Conv2DOptions same;
  same.padding = "same";
  auto conv_step = [&](const Tensor& x, const Tensor& w, const Tensor& b) {
    const Tensor dy = cast(random_normal(conv2d(x, w, b, same).shape(), 0, 1, DType::Float32, 3), x.dtype());
    return gpu_time([&] {
      GradientTape tape;
      tape.watch(std::vector<Tensor>{x, w, b});
      const Tensor y = conv2d(x, w, b, same);
      tape.gradient(y, std::vector<Tensor>{x, w, b}, {dy});
    }, 10);
  };
  // Convolutions on cuDNN (the default) and on loom's im2col + cuBLAS kernels.
  for (const bool cudnn : {true, false}) {
    set_cudnn_enabled(cudnn);
    const std::string route = cudnn ? "" : " (im2col)";
    const double lenet = conv_step(random_normal({256, 28, 28, 1}, 0, 1, DType::Float32, 4),
                                   random_normal({5, 5, 1, 6}, 0, 0.1, DType::Float32, 5), zeros({6}));
    table.add({"gpu conv2d fwd+bwd LeNet conv1" + route, lenet, "ms", lenet * 1e3, "", 0});
    const double vgg = conv_step(random_normal({32, 32, 32, 64}, 0, 1, DType::Float32, 6),
                                 random_normal({3, 3, 64, 64}, 0, 0.05, DType::Float32, 7), zeros({64}));
    table.add({"gpu conv2d fwd+bwd VGG layer" + route, vgg, "ms", vgg * 1e3, "", 0});
  }
  set_cudnn_enabled(true);
  // The VGG layer in 16 bits (the mixed-precision policies' convolutions): cuDNN's tensor cores.
  for (const DType half : {DType::BFloat16, DType::Float16}) {
    const auto low = [&](const Tensor& t) { return cast(t, half); };
    const double vgg = conv_step(low(random_normal({32, 32, 32, 64}, 0, 1, DType::Float32, 6)),
                                 low(random_normal({3, 3, 64, 64}, 0, 0.05, DType::Float32, 7)), low(zeros({64})));
    table.add({std::string("gpu conv2d fwd+bwd VGG layer [") + dtype_name(half) + "]", vgg, "ms", vgg * 1e3, "", 0});
  }
  {
    set_seed(1);
    auto model = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Dense>(256, "relu"), std::make_shared<Dense>(256, "relu"),
                                                                    std::make_shared<Dense>(10)}, Shape{784});
    model->compile(SGD(0.01), SparseCategoricalCrossentropy(true));
    const Tensor x = random_normal({256, 784}, 0, 1, DType::Float32, 8);
    const Tensor y = random_uniform({256}, 0, 10, DType::Int64, 9);
    const double t = gpu_time([&] { model->train_step(x, y); }, 20);
    table.add({"gpu MLP 784-256-256-10 train step", t, "ms", t * 1e3, "", 0});
  }
  {
    set_seed(2);
    const Tensor x = random_uniform({60000, 28, 28, 1}, 0, 1, DType::Float32, 10);
    const Tensor y = random_uniform({60000}, 0, 10, DType::Int64, 11);
    Conv2DLayerOptions c1, c2;
    c1.activation = c2.activation = "relu";
    c1.padding = "same";
    auto model = std::make_shared<Sequential>(
        std::vector<LayerPtr>{std::make_shared<Conv2D>(6, std::vector<int64_t>{5, 5}, c1), std::make_shared<MaxPool2D>(),
                              std::make_shared<Conv2D>(16, std::vector<int64_t>{5, 5}, c2), std::make_shared<MaxPool2D>(),
                              std::make_shared<Flatten>(), std::make_shared<Dense>(120, "relu"), std::make_shared<Dense>(84, "relu"),
                              std::make_shared<Dense>(10)},
        Shape{28, 28, 1});
    model->compile(Adam(0.001), SparseCategoricalCrossentropy(true));
    FitOptions o;
    o.batch_size = 256;
    o.verbose = 0;
    o.seed = 3;
    synchronize("GPU:0");
    const auto t0 = std::chrono::steady_clock::now();
    model->fit(x, y, o);
    synchronize("GPU:0");
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    table.add({"gpu LeNet epoch (60000 synthetic, batch 256, adam)", t, "s", t, "", 0});
  }
  cublasDestroy(handle);
  table.print();
  const std::string json = bench::option(argc, argv, "--json", "");
  if (!json.empty()) table.write_json(json, {{"program", "gpu_bench"}, {"device", list_physical_devices("GPU")[0].description}});
  return 0;
}
