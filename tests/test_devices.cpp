// Devices: listing, parsing, pinning, placement errors, memory stats and threads.
#include <thread>

#include "support/test_support.hpp"

namespace loom::testing {
namespace {

bool has_gpu() { return !list_physical_devices("GPU").empty(); }

TEST(Devices, CpuIsAlwaysListed) {
  const auto cpus = list_physical_devices("CPU");
  ASSERT_EQ(cpus.size(), 1u);
  EXPECT_EQ(cpus[0].name, "CPU:0");
  EXPECT_EQ(cpus[0].device_type, "CPU");
  EXPECT_GT(cpus[0].total_memory, 0);
  EXPECT_GE(list_physical_devices().size(), 1u);
  expect_error<InvalidArgument>([] { list_physical_devices("TPU"); }, "[list_physical_devices] unknown device type 'TPU'");
}

TEST(Devices, ParsingNames) {
  EXPECT_EQ(Device::parse("CPU:0"), Device::cpu());
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("/device:GPU:1"), Device(DeviceType::GPU, 1));
  EXPECT_EQ(Device::parse("/physical_device:GPU:0").str(), "GPU:0");
  expect_error<DeviceError>([] { Device::parse("GPU:x"); }, "cannot parse device name 'GPU:x'");
  expect_error<DeviceError>([] { Device::parse("XPU:0"); }, "cannot parse");
}

TEST(Devices, ScopePinsOpsAndNests) {
  const Tensor x = constant({1.0, 2.0});
  {
    DeviceScope cpu("CPU:0");
    Device d;
    ASSERT_TRUE(current_device_scope(&d));
    EXPECT_EQ(d, Device::cpu());
    EXPECT_EQ((x + x).device(), Device::cpu());
    EXPECT_EQ(zeros({2}).device().str(), "CPU:0");
  }
  Device d;
  EXPECT_FALSE(current_device_scope(&d));
  EXPECT_EQ(x.to("CPU:0").id(), x.id()) << "to() the same device returns the tensor itself";
}

TEST(Devices, MissingGpuIsAClearErrorNeverASilentCpuRun) {
  if (has_gpu()) GTEST_SKIP() << "a GPU is present; test_cuda covers it";
  EXPECT_TRUE(list_physical_devices("GPU").empty());
  expect_error<DeviceError>([] { DeviceScope s("GPU:0"); }, "[DeviceScope] device GPU:0 is not available (0 GPU devices found");
  expect_error<DeviceError>([] { constant({1.0}).to("GPU:0"); }, "GPU:0 is not available");
  expect_error<DeviceError>([] { memory_stats("GPU:0"); }, "[memory_stats] device GPU:0");
  expect_error<DeviceError>([] { DeviceScope s("CPU:1"); }, "CPU:1 is not available");
}

TEST(Memory, CpuStatsTrackLiveAndPeakBytes) {
  const int64_t before = memory_stats("CPU:0").live_bytes;
  reset_peak_memory("CPU:0");
  {
    const Tensor big = zeros({1024, 1024});  // 4 MiB
    EXPECT_EQ(memory_stats().live_bytes, before + 4 * 1024 * 1024);
  }
  EXPECT_EQ(memory_stats().live_bytes, before);
  EXPECT_GE(memory_stats().peak_bytes, before + 4 * 1024 * 1024);
}

TEST(Memory, CpuLimitGivesACatchableOutOfMemoryError) {
  set_memory_limit("CPU:0", memory_stats().live_bytes + 1024 * 1024);
  expect_error<OutOfMemoryError>([] { zeros({1024, 1024}); }, "[fill] out of memory on CPU:0: requested 4194304 bytes");
  set_memory_limit("CPU:0", 0);
  EXPECT_EQ(zeros({1024, 1024}).numel(), 1024 * 1024) << "the library stays usable";
  expect_error<InvalidArgument>([] { set_memory_limit("CPU:0", -1); }, "[set_memory_limit] limit must be >= 0");
}

TEST(Threads, OneBudgetForEveryPool) {
  const int original = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  const Tensor a = random_normal({300, 300}, 0, 1, DType::Float32, 5);
  const auto one = matmul(a, a).to_vector<float>();
  set_num_threads(2);
  const auto two = matmul(a, a).to_vector<float>();
  for (size_t i = 0; i < one.size(); ++i) ASSERT_NEAR(one[i], two[i], 1e-3);
  expect_error<InvalidArgument>([] { set_num_threads(0); }, "[set_num_threads] thread count must be at least 1, got 0");
  set_num_threads(original);
}

TEST(Threads, OpsFromManyThreadsAtOnce) {
  std::vector<std::thread> workers;
  std::vector<double> sums(4, 0);
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&sums, t] {
      for (int i = 0; i < 50; ++i) {
        const Tensor x = fill({64, 64}, t + 1.0, DType::Float64);
        sums[static_cast<size_t>(t)] = reduce_sum(matmul(x, x)).item<double>();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < 4; ++t) EXPECT_DOUBLE_EQ(sums[static_cast<size_t>(t)], 64.0 * 64 * 64 * (t + 1) * (t + 1));
}

}  // namespace
}  // namespace loom::testing
