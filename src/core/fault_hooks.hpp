#pragma once
// Hooks of loom's fault injection (loom/fault_injection.hpp) inside the allocator path and the file writer.
#include <cstddef>

#include "loom/device.hpp"

namespace loom::detail {

// Throws OutOfMemoryError when an injected allocation failure is due on `device`.
void check_injected_allocation_failure(Device device, size_t nbytes, const char* op);
// How many of `wanted` bytes a write may pass (fewer once an injected "disk full" is reached).
size_t injected_write_allowance(size_t wanted);

}  // namespace loom::detail
