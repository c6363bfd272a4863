#pragma once
// Marks functions of libloom's private headers that loom's own tests link against. Exported,
// but not part of any API: neither the C++ API (include/loom) nor the backend API
// (include/loom/backend) nor the C ABI, and free to change in any commit.
#include "loom/export.hpp"

#define LOOM_INTERNAL_API LOOM_API
