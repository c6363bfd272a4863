#pragma once
// The interface a communicator plugin implements (C++ only; not part of the C ABI). loom's MPI
// and NCCL communicators live in their own shared objects (libloom_mpi.so, libloom_nccl.so),
// loaded by libloom.so when loom::dist::init asks for them, so that libloom itself never links
// MPI or NCCL. A plugin sees raw buffers: libloom checks the tensors, allocates the outputs,
// runs every call on its communication thread, and turns Mean into Sum and a division.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loom/backend/api.hpp"
#include "loom/dist.hpp"
#include "loom/dtype.hpp"

/// The version of the communicator interface; a plugin built against another one is refused.
#define LOOM_COMMUNICATOR_API_VERSION 1

namespace loom::dist {

/// One collective call's context, for a communicator (C++ only, for plugin authors).
struct CollectiveContext {
  /// The collective's name for messages ("all_reduce", "broadcast", ...).
  const char* name = "";
  /// Seconds to wait for the other ranks before failing with a DistributedError that names the
  /// collective and the rank count; <= 0 waits forever.
  double timeout_seconds = 0;
};

/// A group of processes (ranks) that run collectives together: one implementation per plugin
/// (C++ only, for plugin authors).
///
/// libloom calls every method from its single communication thread, one call at a time, in the
/// same order on every rank. Buffers are contiguous, of `dtype`, on the communicator's device
/// (host memory for MPI, the communicator's GPU for NCCL); counts are elements. `op` is never
/// ReduceOp::Mean. A call that fails or times out throws a loom::Error (DistributedError for a
/// timeout or a transport failure) and may leave the communicator unusable; libloom then
/// refuses further calls.
class LOOM_BACKEND_API Communicator {
 public:
  /// Bumped on any incompatible change of this class.
  static constexpr int kInterfaceVersion = LOOM_COMMUNICATOR_API_VERSION;
  virtual ~Communicator();
  /// This process's rank, in [0, size()).
  virtual int rank() const = 0;
  /// The number of ranks.
  virtual int size() const = 0;
  /// This process's rank among the ranks of its machine (which GPU it uses).
  virtual int local_rank() const = 0;
  /// recv = op over the ranks of send (`send` may equal `recv`: in place).
  virtual void all_reduce(const void* send, void* recv, int64_t count, DType dtype, ReduceOp op,
                          const CollectiveContext& context) = 0;
  /// `data` of rank `root` is copied into `data` of every other rank.
  virtual void broadcast(void* data, int64_t count, DType dtype, int root, const CollectiveContext& context) = 0;
  /// recv = the concatenation of every rank's send, rank r contributing counts[r] elements.
  virtual void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype,
                          const CollectiveContext& context) = 0;
  /// recv = this rank's block of op over the ranks of send, where send is the concatenation of
  /// blocks of counts[0], counts[1], ... elements.
  virtual void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype,
                              ReduceOp op, const CollectiveContext& context) = 0;
  /// Returns once every rank has called it.
  virtual void barrier(const CollectiveContext& context) = 0;
  /// Leaves the group. `clean` is false after a failure or timeout: then the plugin must not
  /// wait for the other ranks (which may be gone). Called once, last.
  virtual void shutdown(bool clean) = 0;
};

/// What a communicator plugin's `loom_communicator_create` receives from libloom (C++ only).
struct CommunicatorSetup {
  /// The MPI communicator (set when creating an NCCL one): NCCL bootstraps over it.
  Communicator* bootstrap = nullptr;
  /// The GPU to use (NCCL): the local rank.
  int device_index = 0;
  /// Seconds to wait for the other ranks while starting; <= 0 waits forever.
  double timeout_seconds = 0;
};

}  // namespace loom::dist

/// The entry point every communicator plugin exports (looked up with dlsym): checks
/// `interface_version` against LOOM_COMMUNICATOR_API_VERSION and creates the communicator of
/// this process, or returns null with the reason in `message` (`capacity` bytes, NUL-terminated).
/// It must not throw.
using loom_communicator_create_fn = loom::dist::Communicator* (*)(int interface_version,
                                                                  const loom::dist::CommunicatorSetup* setup,
                                                                  char* message, int capacity);
