// Collectives and gradient buckets on GPU tensors over NCCL (backend "nccl"), one rank per GPU,
// against CPU references; run by bench/gpu_check.sh with as many ranks as GPUs (one is enough)
// and skipped (exit 77) where there is no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "loom/creation.hpp"
#include "loom/device.hpp"
#include "loom/dist.hpp"
#include "loom/ops.hpp"

namespace loom {
namespace {

using dist::ReduceOp;

Device my_gpu() { return Device(DeviceType::GPU, dist::local_rank()); }

// Rank r's values (7 i + 13 r) mod 11, exact in every dtype when summed over a few ranks.
Tensor values_of(DType dtype, const Shape& shape, int rank) {
  const Tensor i = reshape(arange(0, static_cast<double>(shape.numel()), 1, DType::Int64), shape);
  if (dtype == DType::Bool) return cast(equal(mod(i + int64_t{rank}, constant(int64_t{3})), constant(int64_t{0})), dtype);
  return cast(mod(i * int64_t{7} + int64_t{13} * rank, constant(int64_t{11})), dtype);
}

int64_t mismatches(const Tensor& got, const Tensor& expected) {
  const Tensor a = reshape(cast(got.to(Device::cpu()), DType::Float64), Shape{got.numel()});
  const Tensor b = reshape(cast(expected.to(Device::cpu()), DType::Float64), Shape{expected.numel()});
  return reduce_sum(cast(not_equal(a, b), DType::Int64)).item<int64_t>();
}

TEST(Nccl, TheJobUsesOneGpuPerRank) {
  EXPECT_EQ(dist::backend(), "nccl");
  const Tensor x = ones(Shape{4}).to(my_gpu());
  EXPECT_EQ(dist::all_reduce(x).device(), my_gpu());
  EXPECT_EQ(dist::all_reduce(x).to(Device::cpu()).to_vector<float>()[0], static_cast<float>(dist::size()));
  // CPU tensors still go over MPI.
  EXPECT_EQ(dist::all_reduce(constant(int64_t{1})).item<int64_t>(), dist::size());
}

TEST(Nccl, AllReduceEveryDTypeAndSizeAgainstTheCpu) {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::UInt8,
                      DType::Float16, DType::BFloat16}) {
    for (const Shape& shape : {Shape{0}, Shape{1}, Shape{7}, Shape{1000, 1000}}) {
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
        Tensor expected = cast(values_of(dtype, shape, 0), DType::Float64);
        for (int r = 1; r < dist::size(); ++r) {
          const Tensor v = cast(values_of(dtype, shape, r), DType::Float64);
          if (op == ReduceOp::Max || (dtype == DType::Bool && op == ReduceOp::Sum)) expected = maximum(expected, v);
          else if (op == ReduceOp::Min) expected = minimum(expected, v);
          else expected = expected + v;
        }
        const Tensor out = dist::all_reduce(values_of(dtype, shape, dist::rank()).to(my_gpu()), op);
        EXPECT_EQ(out.device(), my_gpu());
        EXPECT_EQ(mismatches(out, expected), 0) << dtype_name(dtype) << " " << shape.str() << " " << dist::reduce_op_name(op);
      }
    }
  }
}

TEST(Nccl, BroadcastGatherAndScatterUnevenToo) {
  const int size = dist::size(), rank = dist::rank();
  const Tensor bcast = dist::broadcast(values_of(DType::Float32, Shape{7}, rank).to(my_gpu()), size - 1);
  EXPECT_EQ(mismatches(bcast, values_of(DType::Float32, Shape{7}, size - 1)), 0);
  const Tensor gathered = dist::all_gather(values_of(DType::Int32, Shape{rank + 1, 2}, rank).to(my_gpu()));
  std::vector<Tensor> parts;
  for (int r = 0; r < size; ++r) parts.push_back(values_of(DType::Int32, Shape{r + 1, 2}, r));
  EXPECT_EQ(mismatches(gathered, concat(parts, 0)), 0);
  for (int64_t rows : {int64_t{size} * 3, int64_t{7}}) {
    const Tensor scattered = dist::reduce_scatter(values_of(DType::Float32, Shape{rows, 2}, rank).to(my_gpu()));
    Tensor sum = values_of(DType::Float32, Shape{rows, 2}, 0);
    for (int r = 1; r < size; ++r) sum = sum + values_of(DType::Float32, Shape{rows, 2}, r);
    const int64_t begin = rank * (rows / size) + std::min<int64_t>(rank, rows % size);
    const int64_t mine = rows / size + (rank < rows % size ? 1 : 0);
    EXPECT_EQ(mismatches(scattered, sum[{Slice(begin, begin + mine)}]), 0) << rows << " rows";
  }
  dist::barrier();
}

TEST(Nccl, GradientBucketsOfGpuVariables) {
  DeviceScope on_gpu(my_gpu());
  std::vector<Variable> vars;
  for (int64_t n : {3, 100000, 17, 2000}) vars.emplace_back(zeros(Shape{n}), std::string("v").append(std::to_string(n)));
  dist::GradientBucketer bucketer(vars, dist::BucketOptions{64 << 10, true});
  std::vector<Tensor> grads;
  for (const Variable& v : vars) grads.push_back(fill(v.shape(), dist::rank() + 1.0));
  const std::vector<Tensor> averages = bucketer.average(grads);
  for (const Tensor& a : averages) {
    EXPECT_EQ(a.device(), my_gpu());
    EXPECT_EQ(mismatches(a, fill(a.shape(), (dist::size() + 1) / 2.0)), 0);
  }
  EXPECT_GE(bucketer.last_stats().buckets, 2);
}

}  // namespace
}  // namespace loom
