#include <dlfcn.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "loom/backend/backend.hpp"
#include "loom/error.hpp"
#include "core/cpu_device.hpp"
#include "core/plugins.hpp"

namespace loom {
namespace {

// Backends are registered once and live until exit; lookups on the hot path take no lock.
struct Registry {
  Registry() {
    owned[0] = detail::make_cpu_backend();
    backends[0].store(owned[0].get());
  }
  std::mutex mutex;
  std::array<std::unique_ptr<Backend>, 2> owned;  // indexed by DeviceType
  std::array<std::atomic<Backend*>, 2> backends{};
};

Registry& registry() {
  static Registry r;
  return r;
}

// Why there is no GPU backend, for error messages ("why is GPU:0 not available?").
std::string& cuda_status() {
  static std::string status = "not loaded";
  return status;
}

void load_cuda_backend() {
  if (const char* off = std::getenv("LOOM_DISABLE_CUDA"); off && std::string(off) == "1") {
    cuda_status() = "disabled by LOOM_DISABLE_CUDA=1";
    return;
  }
  std::string errors;
  void* handle = detail::open_plugin("libloom_cuda.so", RTLD_NOW | RTLD_LOCAL, errors);
  if (!handle) {  // built without CUDA, or CUDA libraries missing: no GPU backend
    cuda_status() = "libloom_cuda.so could not be loaded (" + errors + ")";
    return;
  }
  using InitFn = int (*)(int interface_version, char* message, int capacity);
  auto init = reinterpret_cast<InitFn>(dlsym(handle, "loom_cuda_backend_init"));
  char message[512] = "";
  if (!init) {
    cuda_status() = "libloom_cuda.so has no loom_cuda_backend_init";
  } else if (init(Backend::kInterfaceVersion, message, sizeof message) != 0) {
    cuda_status() = message;
  } else {
    cuda_status() = "loaded";
    return;
  }
  dlclose(handle);
}

}  // namespace

Allocator::~Allocator() = default;
Backend::~Backend() = default;

void register_backend(std::unique_ptr<Backend> backend) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto slot = static_cast<size_t>(backend->type());
  if (r.owned[slot]) {
    throw InternalError(std::string("[register_backend] a ") +
                        (backend->type() == DeviceType::CPU ? "CPU" : "GPU") +
                        " backend is already registered");
  }
  r.backends[slot].store(backend.get());
  r.owned[slot] = std::move(backend);
}

void load_optional_backends() {
  static std::once_flag once;
  std::call_once(once, load_cuda_backend);
}

Backend& backend_for(Device device, const char* op) {
  if (device.type == DeviceType::GPU) load_optional_backends();
  Backend* backend = registry().backends[static_cast<size_t>(device.type)].load();
  if (!backend || device.index < 0 || device.index >= backend->device_count()) {
    const int count = backend ? backend->device_count() : 0;
    throw DeviceError(std::string("[") + op + "] device " + device.str() +
                      " is not available (" + std::to_string(count) + " " +
                      (device.type == DeviceType::CPU ? "CPU" : "GPU") + " device" +
                      (count == 1 ? "" : "s") + " found" +
                      (device.type == DeviceType::GPU && count == 0 ? "; CUDA backend: " + cuda_status() : "") +
                      ")");
  }
  return *backend;
}

}  // namespace loom
