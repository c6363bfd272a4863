/// \file version.hpp
/// The version of the loom library.
#pragma once
#include "loom/export.hpp"

#define LOOM_VERSION_MAJOR 0  ///< Major version of these headers.
#define LOOM_VERSION_MINOR 1  ///< Minor version of these headers.
#define LOOM_VERSION_PATCH 0  ///< Patch version of these headers.

namespace loom {
/// The version of the library as built, "MAJOR.MINOR.PATCH" ("0.1.0").
LOOM_API const char* version_string();
}  // namespace loom
