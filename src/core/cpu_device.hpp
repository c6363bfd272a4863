#pragma once
// The CPU device: its host-memory allocator and copies (the CPU kernels are in src/cpu).
#include <memory>

#include "loom/backend/backend.hpp"

namespace loom::detail {

// The backend of CPU:0, which the backend registry creates first.
std::unique_ptr<Backend> make_cpu_backend();

}  // namespace loom::detail
