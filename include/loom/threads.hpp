#pragma once
#include "loom/export.hpp"

namespace loom {

/// Sets one thread budget for everything loom runs on the CPU.
///
/// OpenBLAS, oneDNN (OpenMP) and loom's own loops all use the same OpenMP pool of this size, so
/// they never oversubscribe the cores. Default: the number of cores (or OMP_NUM_THREADS when
/// set). n < 1 is an InvalidArgument.
LOOM_API void set_num_threads(int n);
/// The current thread budget (see set_num_threads).
LOOM_API int get_num_threads();

}  // namespace loom
