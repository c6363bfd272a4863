// Device-independent logic behind GPUs, tested without one: a fake GPU backend (host memory,
// no kernels) registered in this process exercises placement rules, cross-device copies and
// their gradients, the missing-kernel error, and the caching allocator's bookkeeping (limits,
// reservation without memory growth, out-of-memory errors, cache release).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "loom/backend/caching_allocator.hpp"
#include "loom/testing/fault_injection.hpp"
#include "loom/loom.h"
#include "loom/loom.hpp"

namespace loom {
namespace {

// Host memory pretending to be a device with `capacity` bytes.
class HostMemory final : public RawMemory {
 public:
  explicit HostMemory(size_t capacity) : capacity_(capacity) {}
  // The allocator leaves device memory to the device's end (here: this object's).
  ~HostMemory() override {
    for (const auto& [p, bytes] : sizes_) std::free(p);
  }
  void* allocate(size_t bytes) override {
    if (used_ + bytes > capacity_) return nullptr;
    used_ += bytes;
    ++allocations;
    void* p = std::malloc(bytes);
    sizes_[p] = bytes;
    return p;
  }
  void release(void* p) override {
    used_ -= sizes_[p];
    sizes_.erase(p);
    ++releases;
    std::free(p);
  }
  size_t free_bytes() override { return capacity_ - used_; }
  void synchronize() override {}
  static inline int allocations = 0, releases = 0;

 private:
  size_t capacity_, used_ = 0;
  std::map<void*, size_t> sizes_;
};

class FakeGpu final : public Backend {
 public:
  FakeGpu() : allocator_("GPU:0", std::make_unique<HostMemory>(size_t{64} << 20)) {}
  DeviceType type() const override { return DeviceType::GPU; }
  int device_count() const override { return 1; }
  PhysicalDevice describe(int) const override {
    PhysicalDevice d;
    d.name = "GPU:0";
    d.device_type = "GPU";
    d.description = "fake GPU (host memory) for device-independent tests";
    d.total_memory = int64_t{64} << 20;
    return d;
  }
  Allocator& allocator(int) override { return allocator_; }
  void copy_from_host(void* dst, const void* src, size_t n, int) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n, int) override { std::memcpy(dst, src, n); }
  void copy_on_device(void* dst, const void* src, size_t n, int) override { std::memcpy(dst, src, n); }
  void synchronize(int) override {}

 private:
  CachingAllocator allocator_;
};

class FakeGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    load_optional_backends();  // a real GPU backend, if any, registers first
    if (list_physical_devices("GPU").empty()) register_backend(std::make_unique<FakeGpu>());
  }
  void SetUp() override {
    if (list_physical_devices("GPU")[0].description.find("fake") == std::string::npos) {
      GTEST_SKIP() << "a real GPU is present: the fake backend is not registered";
    }
  }
};

TEST_F(FakeGpuTest, ListedAndCopiedAcrossDevices) {
  EXPECT_EQ(list_physical_devices("GPU").size(), 1u);
  const Tensor c = constant({1.0, 2.0, 3.0});
  const Tensor g = c.to("GPU:0");
  EXPECT_EQ(g.device().str(), "GPU:0");
  EXPECT_EQ(g.to_vector<float>(), c.to_vector<float>()) << "reading values copies back through the backend";
  EXPECT_EQ(g.to("CPU:0").device().str(), "CPU:0");
  GradientTape tape;
  tape.watch(c);
  const Tensor back = g.to("CPU:0");
  (void)back;
  const Tensor moved = c.to("GPU:0").to("CPU:0");
  EXPECT_EQ(tape.gradient(moved, c).to_vector<float>(), (std::vector<float>{1, 1, 1})) << "copies are differentiable";
}

TEST_F(FakeGpuTest, PlacementRulesAndMissingKernels) {
  const Tensor c = constant({1.0f});
  const Tensor g = c.to("GPU:0");
  try {
    add(c, g);
    ADD_FAILURE() << "expected a device error";
  } catch (const DeviceError& e) {
    EXPECT_STREQ(e.what(), "[add] inputs are on different devices: input 0 on CPU:0, input 1 on GPU:0; copy with .to() or pin the op with DeviceScope");
  }
  const Tensor empty_cpu = reshape(zeros({2, 0}), {0, 2});
  const Tensor strided_cpu = transpose(reshape(constant({1.0f, 2.0f}), {1, 2}));
  DeviceScope pin("GPU:0");
  try {
    add(c, c);  // pinned: inputs are copied to GPU:0, where the fake backend has no kernels
    ADD_FAILURE() << "expected an unimplemented error";
  } catch (const UnimplementedError& e) {
    EXPECT_STREQ(e.what(), "[add] has no CUDA kernel");
  }
  EXPECT_EQ(reshape(g, {1, 1}).device().str(), "GPU:0") << "views need no kernel";
  // A copy back to the CPU under a GPU scope: its helper ops (a contiguous copy of a strided or
  // empty source) stay on the copy's own device instead of recursing through the scope.
  EXPECT_EQ(empty_cpu.to("GPU:0").to("CPU:0").shape(), (Shape{0, 2}));
  EXPECT_EQ(strided_cpu.to("GPU:0").to_vector<float>(), (std::vector<float>{1, 2}));
}

// The device-independent error paths through the C ABI: an op without a kernel on the device is
// LOOM_ERROR_UNIMPLEMENTED; the GPU allocator's out-of-memory (its limit, or an injected failure
// at any point of a sequence of copies) is LOOM_ERROR_OUT_OF_MEMORY and leaks nothing.
TEST_F(FakeGpuTest, CAbiStatusesForMissingKernelsAndFullMemory) {
  const int64_t dims[] = {4};
  const float values[] = {1, 2, 3, 4};
  loom_tensor *x = nullptr, *y = nullptr, *on_gpu = nullptr;
  ASSERT_EQ(loom_tensor_from_host(values, sizeof values, dims, 1, LOOM_F32, &x), LOOM_OK);
  ASSERT_EQ(loom_device_scope_push("GPU:0"), LOOM_OK);
  EXPECT_EQ(loom_exp(x, &y), LOOM_ERROR_UNIMPLEMENTED);
  EXPECT_STREQ(loom_last_error_message(), "loom_exp: [exp] has no CUDA kernel");
  EXPECT_EQ(y, nullptr);
  ASSERT_EQ(loom_device_scope_pop(), LOOM_OK);

  const int64_t live = memory_stats("GPU:0").live_bytes;
  for (int64_t k = 0; k < 3; ++k) {
    fault_injection::fail_allocation_after("GPU:0", k);
    loom_status status = LOOM_OK;
    std::vector<loom_tensor*> copies;
    for (int i = 0; i < 3 && status == LOOM_OK; ++i) {
      status = loom_tensor_to_device(x, "GPU:0", &on_gpu);
      if (status == LOOM_OK) copies.push_back(on_gpu);
    }
    EXPECT_EQ(status, LOOM_ERROR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(loom_last_error_message()).find("out of memory on GPU:0"), std::string::npos);
    EXPECT_EQ(copies.size(), static_cast<size_t>(k));
    for (loom_tensor* c : copies) loom_tensor_release(c);
    EXPECT_EQ(memory_stats("GPU:0").live_bytes, live);
  }
  fault_injection::fail_allocation_after("GPU:0", -1);
  ASSERT_EQ(loom_device_set_memory_limit("GPU:0", 1024), LOOM_OK);
  const int64_t big[] = {1024};
  loom_tensor* ones = nullptr;
  ASSERT_EQ(loom_tensor_ones(big, 1, LOOM_F32, &ones), LOOM_OK);
  EXPECT_EQ(loom_tensor_to_device(ones, "GPU:0", &on_gpu), LOOM_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(std::string(loom_last_error_message()).find("limit"), std::string::npos) << loom_last_error_message();
  ASSERT_EQ(loom_device_set_memory_limit("GPU:0", 0), LOOM_OK);
  loom_tensor_release(ones);
  loom_tensor_release(x);
}

TEST(CachingAllocator, BookkeepingLimitsAndCache) {
  HostMemory::allocations = HostMemory::releases = 0;
  CachingAllocator a("GPU:9", std::make_unique<HostMemory>(size_t{8} << 20));
  void* p = a.allocate(1000, "t");
  EXPECT_EQ(a.stats().live_bytes, 1024);  // 512-byte steps
  a.deallocate(p, 1000);
  EXPECT_EQ(a.stats().live_bytes, 0);
  EXPECT_EQ(a.stats().cached_bytes, 1024);
  void* q = a.allocate(900, "t");
  EXPECT_EQ(q, p) << "the cached block is reused";
  EXPECT_EQ(HostMemory::allocations, 1);
  EXPECT_EQ(a.stats().peak_bytes, 1024);
  a.set_limit(4096);
  try {
    a.allocate(8192, "conv2d");
    ADD_FAILURE();
  } catch (const OutOfMemoryError& e) {
    EXPECT_EQ(std::string(e.what()), "[conv2d] out of memory on GPU:9: requested 8192 bytes with 1024 bytes live, exceeding the memory limit (4096 bytes)");
  }
  a.set_limit(0);
  // Running out of device memory releases the cache and tries again, then fails cleanly.
  void* big = a.allocate(size_t{7} << 20, "big");
  a.deallocate(q, 900);
  void* other = a.allocate(size_t{1} << 20, "other");  // does not fit beside 7 MiB + the cached block? it does
  a.deallocate(other, size_t{1} << 20);
  EXPECT_THROW(a.allocate(size_t{4} << 20, "huge"), OutOfMemoryError);
  EXPECT_EQ(a.stats().cached_bytes, 0) << "the failed attempt gave the cache back first";
  a.deallocate(big, size_t{7} << 20);
  a.empty_cache();
  EXPECT_EQ(a.stats().cached_bytes, 0);
  EXPECT_EQ(HostMemory::releases, HostMemory::allocations);
}

TEST(CachingAllocator, WithoutGrowthReservesOnce) {
  HostMemory::allocations = 0;
  CachingAllocator a("GPU:8", std::make_unique<HostMemory>(size_t{8} << 20));
  a.set_limit(size_t{2} << 20);
  a.set_growth(false);
  void* p = a.allocate(1000, "t");
  void* q = a.allocate(2000, "t");
  EXPECT_EQ(HostMemory::allocations, 1) << "one reservation, blocks carved from it";
  EXPECT_EQ(static_cast<char*>(q) - static_cast<char*>(p), 1024);
  EXPECT_THROW(a.allocate(size_t{3} << 20, "t"), OutOfMemoryError);
  EXPECT_THROW(a.set_growth(true), DeviceError);
  a.deallocate(p, 1000);
  a.deallocate(q, 2000);
}

}  // namespace
}  // namespace loom
