#include "comm/mpi/mpi_types.hpp"

#include <algorithm>

#include "loom/error.hpp"
#include "loom/half.hpp"

namespace loom::dist::mpi {
namespace {

// op(in, inout) -> inout over 16-bit floats of type H, computed in float.
template <class H, class Combine>
void reduce_half(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = H::to_float(a[i]), y = H::to_float(b[i]);
    b[i] = H::from_float(Combine{}(x, y));
  }
}

struct Plus {
  float operator()(float x, float y) const { return x + y; }
};
struct Larger {
  float operator()(float x, float y) const { return std::max(x, y); }
};
struct Smaller {
  float operator()(float x, float y) const { return std::min(x, y); }
};

// [half, bfloat16][sum, max, min]
MPI_Op half_ops[2][3] = {{MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL}, {MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL}};

int op_slot(ReduceOp op) { return op == ReduceOp::Max ? 1 : op == ReduceOp::Min ? 2 : 0; }

}  // namespace

MPI_Datatype datatype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int32: return MPI_INT32_T;
    case DType::Int64: return MPI_INT64_T;
    case DType::Bool:
    case DType::UInt8: return MPI_UINT8_T;
    case DType::Float16:
    case DType::BFloat16: return MPI_UINT16_T;
  }
  throw DTypeError("[dist] no MPI datatype for dtype " + std::to_string(static_cast<int>(dtype)));
}

MPI_Op operation(DType dtype, ReduceOp op) {
  if (dtype == DType::Float16) return half_ops[0][op_slot(op)];
  if (dtype == DType::BFloat16) return half_ops[1][op_slot(op)];
  if (dtype == DType::Bool) return op == ReduceOp::Min ? MPI_MIN : MPI_MAX;
  return op == ReduceOp::Max ? MPI_MAX : op == ReduceOp::Min ? MPI_MIN : MPI_SUM;
}

void create_half_operations() {
  MPI_Op_create(&reduce_half<Half, Plus>, 1, &half_ops[0][0]);
  MPI_Op_create(&reduce_half<Half, Larger>, 1, &half_ops[0][1]);
  MPI_Op_create(&reduce_half<Half, Smaller>, 1, &half_ops[0][2]);
  MPI_Op_create(&reduce_half<BFloat16, Plus>, 1, &half_ops[1][0]);
  MPI_Op_create(&reduce_half<BFloat16, Larger>, 1, &half_ops[1][1]);
  MPI_Op_create(&reduce_half<BFloat16, Smaller>, 1, &half_ops[1][2]);
}

void free_half_operations() {
  for (auto& row : half_ops) {
    for (MPI_Op& op : row) {
      if (op != MPI_OP_NULL) MPI_Op_free(&op);
    }
  }
}

}  // namespace loom::dist::mpi
