#pragma once
// Opening loom's optional plugins (libloom_cuda.so, libloom_mpi.so, libloom_nccl.so): they sit
// beside libloom.so, or anywhere on the loader's search path.
#include <string>

#include "core/internal_api.hpp"

namespace loom::detail {

// The handle of plugin `file_name` opened with `flags` (RTLD_NOW | RTLD_LOCAL, say), or null with
// every loader error, one per place tried, in `errors`.
LOOM_INTERNAL_API void* open_plugin(const std::string& file_name, int flags, std::string& errors);

}  // namespace loom::detail
