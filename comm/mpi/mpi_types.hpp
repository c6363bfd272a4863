#pragma once
// loom's dtypes and reductions in MPI's terms. MPI has no 16-bit floats: float16 and bfloat16
// travel as 16-bit words and reduce with loom's own MPI operations (computing in float).
#include <mpi.h>

#include "loom/backend/communicator.hpp"

namespace loom::dist::mpi {

// The datatype that carries `dtype` (bool as bytes).
MPI_Datatype datatype(DType dtype);
// The MPI operation for `op` on `dtype` (Sum, Max or Min). Bool: Sum and Max are a logical or
// (max of 0/1 bytes), Min a logical and.
MPI_Op operation(DType dtype, ReduceOp op);
// Creates loom's operations for the 16-bit floats; after MPI_Init, once.
void create_half_operations();
// Frees them; before MPI_Finalize.
void free_half_operations();

}  // namespace loom::dist::mpi
