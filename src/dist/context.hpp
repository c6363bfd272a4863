#pragma once
// The job this process belongs to, from dist::init() to dist::finalize(): the communicators, the
// communication thread that runs them, and the first failure (after which they are unusable).
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "core/internal_api.hpp"
#include "dist/worker.hpp"
#include "loom/backend/communicator.hpp"

namespace loom::dist::detail {

struct Context {
  std::string backend;
  int rank = 0, size = 1, local_rank = 0;
  std::unique_ptr<Communicator> host;  // MPI: CPU tensors, validation, NCCL's bootstrap
  std::unique_ptr<Communicator> gpu;   // NCCL, with the "nccl" backend
  std::unique_ptr<Worker> worker;

  // Runs `job` on the communication thread and returns at once. A DistributedError from the job
  // marks the context failed; later calls are refused with the first failure's message.
  std::future<void> launch(const char* function, std::function<void()> job);
  // launch(), then waits and rethrows the job's error.
  void run(const char* function, std::function<void()> job);
  // The first failure, or "" when none.
  std::string failure() const;

 private:
  mutable std::mutex mutex_;
  std::string failure_;
};

// The context of the initialised job; DistributedError naming `function` before init().
std::shared_ptr<Context> context(const char* function);

// The plugin libloom_<kind>.so's communicator ("mpi" or "nccl"), created on the calling thread.
// NotFoundError naming the plugin and what to install when it cannot be loaded.
LOOM_INTERNAL_API std::unique_ptr<Communicator> create_communicator(const std::string& kind,
                                                                   const CommunicatorSetup& setup);

// The timeout of collectives in seconds, and whether validation mode is on.
double timeout_seconds();
bool validating();

}  // namespace loom::dist::detail
