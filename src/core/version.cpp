#include "loom/version.hpp"

#define LOOM_STR2(x) #x
#define LOOM_STR(x) LOOM_STR2(x)

namespace loom {
const char* version_string() {
  return LOOM_STR(LOOM_VERSION_MAJOR) "." LOOM_STR(LOOM_VERSION_MINOR) "." LOOM_STR(LOOM_VERSION_PATCH);
}
}  // namespace loom
