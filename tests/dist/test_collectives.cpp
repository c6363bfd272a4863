// Every collective against a serial reference, for every dtype and sizes 0, 1, 7 and 1M, on as
// many ranks as mpirun starts (2 and 3 in the suite). Each rank's input is a function of its
// rank, so every rank computes the expected result alone. Values are small integers: sums are
// exact in every dtype, whatever order the transport adds them in.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "loom/creation.hpp"
#include "loom/dist.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom {
namespace {

using dist::ReduceOp;

const std::vector<DType> kDTypes = {DType::Float32, DType::Float64, DType::Int32, DType::Int64,
                                    DType::Bool,    DType::UInt8,   DType::Float16, DType::BFloat16};
const std::vector<Shape> kShapes = {Shape{0}, Shape{}, Shape{1}, Shape{7}, Shape{1000, 1000}, Shape{0, 3}};

// Rank r's values: (7 i + 13 r) mod 11 at element i (bool: (i + r) mod 3 == 0), so sums over a
// few ranks are exact. Made with loom's ops (fast at 1M elements); references are float64.
Tensor values_of(DType dtype, const Shape& shape, int rank) {
  const Tensor i = reshape(arange(0, static_cast<double>(shape.numel()), 1, DType::Int64), shape);
  if (dtype == DType::Bool) return equal(mod(i + int64_t{rank}, constant(int64_t{3})), constant(int64_t{0}));
  return mod(i * int64_t{7} + int64_t{13} * rank, constant(int64_t{11}));
}

Tensor input_of(DType dtype, const Shape& shape, int rank) { return cast(values_of(dtype, shape, rank), dtype); }

Tensor reference_of(DType dtype, const Shape& shape, int rank) { return cast(values_of(dtype, shape, rank), DType::Float64); }

// The reduction over every rank's input, elementwise, in float64 (exact for these values).
Tensor reduced(DType dtype, const Shape& shape, ReduceOp op) {
  Tensor out = reference_of(dtype, shape, 0);
  for (int r = 1; r < dist::size(); ++r) {
    const Tensor v = reference_of(dtype, shape, r);
    if (op == ReduceOp::Max || (dtype == DType::Bool && op == ReduceOp::Sum)) out = maximum(out, v);
    else if (op == ReduceOp::Min) out = minimum(out, v);
    else out = out + v;
  }
  return out;
}

std::string label(DType dtype, const Shape& shape) { return std::string(dtype_name(dtype)) + " " + shape.str(); }

void expect_values(const Tensor& got, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  const Tensor wrong = not_equal(reshape(cast(got, DType::Float64), Shape{got.numel()}),
                                 reshape(cast(expected, DType::Float64), Shape{got.numel()}));
  EXPECT_EQ(reduce_sum(cast(wrong, DType::Int64)).item<int64_t>(), 0) << what;
}

TEST(Collectives, AllReduceSumMaxMinEveryDTypeAndSize) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
        const Tensor out = dist::all_reduce(input_of(dtype, shape, dist::rank()), op);
        const std::string what = label(dtype, shape) + " " + dist::reduce_op_name(op);
        EXPECT_EQ(out.shape(), shape) << what;
        EXPECT_EQ(out.dtype(), dtype) << what;
        expect_values(out, reduced(dtype, shape, op), what);
      }
    }
  }
}

TEST(Collectives, AllReduceMeanIsTheSumDividedByTheRankCount) {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}) {
    for (const Shape& shape : kShapes) {
      const Tensor out = dist::all_reduce(input_of(dtype, shape, dist::rank()), ReduceOp::Mean);
      const Tensor sum = cast(reduced(dtype, shape, ReduceOp::Sum), dtype);
      // 16-bit floats divide in float32 (as on every device), then round.
      const bool half = dtype == DType::Float16 || dtype == DType::BFloat16;
      const Tensor mean = half ? cast(cast(sum, DType::Float32) / static_cast<double>(dist::size()), dtype)
                               : sum / static_cast<double>(dist::size());
      expect_values(out, mean, label(dtype, shape) + " mean");
    }
  }
}

TEST(Collectives, AllReduceInPlaceWritesTheVariable) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : {Shape{0}, Shape{7}, Shape{1000, 1000}}) {
      Variable v(input_of(dtype, shape, dist::rank()), "v", false);
      dist::all_reduce_inplace(v, ReduceOp::Sum);
      expect_values(v, reduced(dtype, shape, ReduceOp::Sum), label(dtype, shape) + " in place");
    }
  }
  Variable mean(input_of(DType::Float64, Shape{7}, dist::rank()), "mean", false);
  dist::all_reduce_inplace(mean, ReduceOp::Mean);
  expect_values(mean, reduced(DType::Float64, Shape{7}, ReduceOp::Sum) / static_cast<double>(dist::size()),
                "float64 mean in place");
}

TEST(Collectives, AllReduceOfAStridedViewUsesItsValues) {
  const Tensor x = transpose(input_of(DType::Float32, Shape{3, 5}, dist::rank()));
  const Tensor out = dist::all_reduce(x, ReduceOp::Sum);
  expect_values(out, transpose(reduced(DType::Float32, Shape{3, 5}, ReduceOp::Sum)), "transposed view");
}

TEST(Collectives, BroadcastFromEveryRootEveryDTypeAndSize) {
  for (int root = 0; root < dist::size(); ++root) {
    for (DType dtype : kDTypes) {
      for (const Shape& shape : kShapes) {
        const Tensor out = dist::broadcast(input_of(dtype, shape, dist::rank()), root);
        EXPECT_EQ(out.shape(), shape);
        expect_values(out, reference_of(dtype, shape, root), label(dtype, shape) + " from " + std::to_string(root));
      }
    }
  }
  Variable v(input_of(DType::Float32, Shape{7}, dist::rank()), "v", false);
  dist::broadcast_inplace(v, dist::size() - 1);
  expect_values(v, reference_of(DType::Float32, Shape{7}, dist::size() - 1), "in place");
}

TEST(Collectives, AllGatherJoinsAlongTheFirstAxisInRankOrder) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      const Tensor out = dist::all_gather(input_of(dtype, shape, dist::rank()));
      const Shape row = shape.rank() == 0 ? Shape{1} : shape;
      Shape joined = row;
      joined[0] *= dist::size();
      EXPECT_EQ(out.shape(), joined) << label(dtype, shape);
      std::vector<Tensor> parts;
      for (int r = 0; r < dist::size(); ++r) parts.push_back(reshape(reference_of(dtype, shape, r), Shape{shape.numel()}));
      expect_values(out, concat(parts, 0), label(dtype, shape) + " all_gather");
    }
  }
}

TEST(Collectives, AllGatherTakesFirstAxesOfDifferentLengths) {
  const int rank = dist::rank();
  const Tensor out = dist::all_gather(input_of(DType::Int64, Shape{rank, 2}, rank));  // rank 0 brings no rows
  int64_t rows = 0;
  std::vector<Tensor> parts;
  for (int r = 0; r < dist::size(); ++r) {
    rows += r;
    parts.push_back(reference_of(DType::Int64, Shape{r, 2}, r));
  }
  EXPECT_EQ(out.shape(), (Shape{rows, 2}));
  expect_values(out, concat(parts, 0), "uneven all_gather");
}

TEST(Collectives, ReduceScatterGivesEachRankItsBlock) {
  const int size = dist::size(), rank = dist::rank();
  for (DType dtype : kDTypes) {
    for (const Shape& shape : {Shape{0}, Shape{1}, Shape{7}, Shape{7, 3}, Shape{1000000}, Shape{int64_t{size} * 4, 2}}) {
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
        const Tensor out = dist::reduce_scatter(input_of(dtype, shape, rank), op);
        const int64_t n = shape[0], row = shape.numel() / std::max<int64_t>(n, 1);
        const int64_t begin = rank * (n / size) + std::min<int64_t>(rank, n % size);
        const int64_t rows = n / size + (rank < n % size ? 1 : 0);
        Shape expected_shape = shape;
        expected_shape[0] = rows;
        const std::string what = label(dtype, shape) + " " + dist::reduce_op_name(op) + " reduce_scatter";
        EXPECT_EQ(out.shape(), expected_shape) << what;
        const Tensor all = reshape(reduced(dtype, shape, op), Shape{shape.numel()});
        expect_values(out, all[{Slice(begin * row, (begin + rows) * row)}], what);
      }
    }
  }
  const Tensor mean = dist::reduce_scatter(input_of(DType::Float32, Shape{int64_t{size}}, rank), ReduceOp::Mean);
  EXPECT_DOUBLE_EQ(mean.item<double>(),
                   static_cast<float>(reduced(DType::Float32, Shape{size}, ReduceOp::Sum).to_vector<double>()[static_cast<size_t>(rank)] / size));
}

TEST(Collectives, ReduceScatterAfterAllGatherGivesBackTheRanksSum) {
  const Tensor x = input_of(DType::Float64, Shape{5, 2}, dist::rank());
  const Tensor gathered = dist::all_gather(dist::reduce_scatter(x));
  expect_values(gathered, reduced(DType::Float64, Shape{5, 2}, ReduceOp::Sum), "all_gather(reduce_scatter(x))");
}

TEST(Collectives, BarrierReturnsOnEveryRank) {
  dist::barrier();
  dist::barrier();
  SUCCEED();
}

TEST(Collectives, DescribeTheJob) {
  EXPECT_TRUE(dist::initialized());
  EXPECT_EQ(dist::backend(), "mpi");
  EXPECT_GE(dist::size(), 1);
  EXPECT_GE(dist::rank(), 0);
  EXPECT_LT(dist::rank(), dist::size());
  EXPECT_GE(dist::local_rank(), 0);
  EXPECT_LE(dist::local_rank(), dist::rank());  // one machine: local ranks are the ranks
  // Every rank agrees on the count (the sum of ones).
  EXPECT_EQ(dist::all_reduce(constant(int64_t{1})).item<int64_t>(), dist::size());
}

// Local errors fail this rank's call before anything is sent, so the ranks stay in step.
TEST(Collectives, BadArgumentsFailBeforeCommunicating) {
  EXPECT_THROW(dist::all_reduce(constant({1, 2}), ReduceOp::Mean), DTypeError);
  EXPECT_THROW(dist::broadcast(constant(1.0), dist::size()), InvalidArgument);
  EXPECT_THROW(dist::broadcast(constant(1.0), -1), InvalidArgument);
  EXPECT_THROW(dist::reduce_scatter(constant(1.0)), ShapeError);
  EXPECT_THROW(dist::all_reduce(Tensor()), InvalidArgument);
  EXPECT_THROW(dist::set_timeout(0), InvalidArgument);
  EXPECT_THROW(dist::init("gloo"), InvalidArgument);  // already running with another backend
  try {
    dist::all_reduce(constant({1, 2}), ReduceOp::Mean);
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("[dist.all_reduce] mean needs a floating dtype, got int64"), std::string::npos)
        << e.what();
  }
  // Still in step: a collective works after the failures.
  EXPECT_EQ(dist::all_reduce(constant(int64_t{2})).item<int64_t>(), 2 * dist::size());
}

// Validation mode: calls that differ between ranks fail on every rank, naming both.
TEST(Collectives, ValidationReportsBothShapesAndDTypes) {
  dist::set_validation(true);
  const int rank = dist::rank();
  const Tensor mine = zeros(rank == 0 ? Shape{2, 3} : Shape{3, 2});
  try {
    dist::all_reduce(mine);
    ADD_FAILURE() << "mismatched shapes were not reported";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 calls all_reduce (sum) on float32 (2, 3), rank 1 calls all_reduce "
                                         "(sum) on float32 (3, 2)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(dist::all_reduce(zeros(Shape{4}, rank == 0 ? DType::Float32 : DType::Float64)), DTypeError);
  EXPECT_THROW(dist::broadcast(zeros(Shape{4}), rank == 0 ? 0 : 1), InvalidArgument);
  try {
    if (rank == 0) dist::barrier();
    else dist::all_reduce(zeros(Shape{4}));
    ADD_FAILURE() << "different collectives were not reported";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("the ranks' calls differ (validation mode): rank 0 calls barrier, rank 1 calls all_reduce (sum) on float32 (4,)"),
              std::string::npos)
        << e.what();
  }
  // all_gather's first axis may differ; matching calls pass.
  EXPECT_EQ(dist::all_gather(zeros(Shape{rank + 1, 2})).dim(0), dist::size() * (dist::size() + 1) / 2);
  EXPECT_EQ(dist::all_reduce(ones(Shape{3})).to_vector<float>()[0], static_cast<float>(dist::size()));
  dist::set_validation(false);
}

}  // namespace
}  // namespace loom
