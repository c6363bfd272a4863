// Loading the communicator plugins: libloom_mpi.so and libloom_nccl.so, built beside libloom.so
// when their libraries are found, so that libloom itself never links MPI or NCCL.
#include <dlfcn.h>

#include <map>
#include <mutex>

#include "core/plugins.hpp"
#include "dist/context.hpp"
#include "loom/error.hpp"

namespace loom::dist::detail {
namespace {

struct PluginFacts {
  const char* title;     // for messages
  const char* built_when;
};

const std::map<std::string, PluginFacts>& plugin_facts() {
  static const std::map<std::string, PluginFacts> facts = {
      {"mpi", {"MPI", "it is built when Open MPI's development files are found: install the Debian packages "
                      "libopenmpi-dev and openmpi-bin (scripts/install_deps.sh) and rebuild"}},
      {"nccl", {"NCCL", "it is built with the CUDA backend when the CUDA toolkit's NCCL (nccl.h, libnccl.so) is "
                        "found, and needs a GPU and its driver at run time"}},
  };
  return facts;
}

loom_communicator_create_fn load_entry_point(const std::string& kind) {
  static std::mutex mutex;
  static std::map<std::string, loom_communicator_create_fn> loaded;  // plugins stay loaded
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(kind); it != loaded.end()) return it->second;
  const PluginFacts& facts = plugin_facts().at(kind);
  const std::string file = "libloom_" + kind + ".so";
  std::string errors;
  void* handle = loom::detail::open_plugin(file, RTLD_NOW | RTLD_LOCAL, errors);
  if (!handle) {
    throw NotFoundError("[dist.init] the " + std::string(facts.title) + " communicator plugin " + file +
                        " could not be loaded (" + errors + "): this loom was built without " + facts.title +
                        " support, or its libraries are missing at run time; " + facts.built_when);
  }
  auto create = reinterpret_cast<loom_communicator_create_fn>(dlsym(handle, "loom_communicator_create"));
  if (!create) {
    dlclose(handle);
    throw NotFoundError("[dist.init] " + file + " has no loom_communicator_create: not a loom communicator plugin");
  }
  loaded[kind] = create;
  return create;
}

}  // namespace

std::unique_ptr<Communicator> create_communicator(const std::string& kind, const CommunicatorSetup& setup) {
  const loom_communicator_create_fn create = load_entry_point(kind);
  char message[1024] = "";
  Communicator* made = create(Communicator::kInterfaceVersion, &setup, message, sizeof message);
  if (!made) throw DistributedError(message);  // the plugin's message names the call
  return std::unique_ptr<Communicator>(made);
}

}  // namespace loom::dist::detail
