#pragma once
#include <cstdint>

namespace loom::detail {

// Applies the library-wide thread count to the calling thread's OpenMP and OpenBLAS settings
// when it changed since this thread last looked (cheap: one atomic load on the fast path).
void sync_thread_settings();

// Threads loom's own loops may use for `work` items of roughly equal cost: 1 below `grain`.
int threads_for(int64_t work, int64_t grain);

}  // namespace loom::detail
