#pragma once
#include "loom/export.hpp"

#define LOOM_VERSION_MAJOR 0
#define LOOM_VERSION_MINOR 1
#define LOOM_VERSION_PATCH 0

namespace loom {
LOOM_API const char* version_string();
}  // namespace loom
