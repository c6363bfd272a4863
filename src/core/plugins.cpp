#include "core/plugins.hpp"

#include <dlfcn.h>

namespace loom::detail {
namespace {

// The directory libloom.so was loaded from: optional plugins sit beside it.
std::string library_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&open_plugin), &info) == 0 || !info.dli_fname) return "";
  const std::string path(info.dli_fname);
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

}  // namespace

void* open_plugin(const std::string& file_name, int flags, std::string& errors) {
  errors.clear();
  for (const std::string& candidate : {library_directory() + file_name, file_name}) {
    if (void* handle = dlopen(candidate.c_str(), flags)) return handle;
    if (const char* e = dlerror()) errors += (errors.empty() ? "" : "; ") + std::string(e);
  }
  return nullptr;
}

}  // namespace loom::detail
