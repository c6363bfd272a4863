// The NCCL communicator (libloom_nccl.so): GPU buffers over NCCL on GPU `local rank`. Rank 0
// makes NCCL's unique id and broadcasts it over the MPI communicator (as PyTorch DDP and
// Horovod do). The communicator is non-blocking, so every call is polled until done or until
// the timeout, which aborts it: a dead peer ends in an error rather than a hang. libloom calls it
// from its communication thread only, after the device's queued work is done.
#include <cuda_runtime.h>
#include <nccl.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "loom/backend/communicator.hpp"
#include "loom/error.hpp"

namespace loom::dist::nccl {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t datatype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int32: return ncclInt32;
    case DType::Int64: return ncclInt64;
    case DType::Bool:
    case DType::UInt8: return ncclUint8;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
  }
  throw DTypeError("[dist] no NCCL datatype for dtype " + std::to_string(static_cast<int>(dtype)));
}

// Bool: Sum and Max are a logical or (max of 0/1 bytes), Min a logical and.
ncclRedOp_t operation(DType dtype, ReduceOp op) {
  if (op == ReduceOp::Max || (dtype == DType::Bool && op == ReduceOp::Sum)) return ncclMax;
  return op == ReduceOp::Min ? ncclMin : ncclSum;
}

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw DistributedError(std::string("[") + what + "] CUDA error: " + cudaGetErrorString(status));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(const CommunicatorSetup& setup)
      : rank_(setup.bootstrap->rank()), size_(setup.bootstrap->size()), local_rank_(setup.bootstrap->local_rank()),
        device_(setup.device_index) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || device_ >= devices) {
      cudaGetLastError();
      throw DistributedError("[dist.init] NCCL on rank " + std::to_string(rank_) + " needs GPU:" +
                             std::to_string(device_) + " (its local rank), but this machine has " +
                             std::to_string(devices) + " usable GPU(s): start at most one rank per GPU");
    }
    check_cuda(cudaSetDevice(device_), "dist.init");
    try {
      start(*setup.bootstrap, CollectiveContext{"dist.init", setup.timeout_seconds});
    } catch (...) {
      shutdown(false);  // releases what start() made before it failed
      throw;
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }

  void all_reduce(const void* send, void* recv, int64_t count, DType dtype, ReduceOp op,
                  const CollectiveContext& ctx) override {
    run(ctx, [&] {
      return ncclAllReduce(send, recv, static_cast<size_t>(count), datatype(dtype), operation(dtype, op), comm_, stream_);
    });
  }

  void broadcast(void* data, int64_t count, DType dtype, int root, const CollectiveContext& ctx) override {
    run(ctx, [&] { return ncclBroadcast(data, data, static_cast<size_t>(count), datatype(dtype), root, comm_, stream_); });
  }

  // Equal blocks use ncclAllGather; uneven ones a broadcast from each rank, grouped.
  void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype,
                  const CollectiveContext& ctx) override {
    const size_t width = dtype_size(dtype);
    run(ctx, [&] {
      if (equal(counts)) {
        return ncclAllGather(send, recv, static_cast<size_t>(counts[0]), datatype(dtype), comm_, stream_);
      }
      ncclResult_t status = ncclGroupStart();
      size_t offset = 0;
      for (int r = 0; r < size_ && status == ncclSuccess; ++r) {
        void* block = static_cast<char*>(recv) + offset * width;
        status = ncclBroadcast(r == rank_ ? send : block, block, static_cast<size_t>(counts[static_cast<size_t>(r)]),
                               datatype(dtype), r, comm_, stream_);
        offset += static_cast<size_t>(counts[static_cast<size_t>(r)]);
      }
      const ncclResult_t ended = ncclGroupEnd();
      return status != ncclSuccess ? status : ended;
    });
  }

  // Equal blocks use ncclReduceScatter; uneven ones a reduce to each rank, grouped.
  void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype, ReduceOp op,
                      const CollectiveContext& ctx) override {
    const size_t width = dtype_size(dtype);
    run(ctx, [&] {
      if (equal(counts)) {
        return ncclReduceScatter(send, recv, static_cast<size_t>(counts[0]), datatype(dtype), operation(dtype, op),
                                 comm_, stream_);
      }
      ncclResult_t status = ncclGroupStart();
      size_t offset = 0;
      for (int r = 0; r < size_ && status == ncclSuccess; ++r) {
        status = ncclReduce(static_cast<const char*>(send) + offset * width, recv,
                            static_cast<size_t>(counts[static_cast<size_t>(r)]), datatype(dtype), operation(dtype, op), r,
                            comm_, stream_);
        offset += static_cast<size_t>(counts[static_cast<size_t>(r)]);
      }
      const ncclResult_t ended = ncclGroupEnd();
      return status != ncclSuccess ? status : ended;
    });
  }

  void barrier(const CollectiveContext& ctx) override {
    run(ctx, [&] { return ncclAllReduce(scratch_, scratch_, 1, ncclInt32, ncclSum, comm_, stream_); });
  }

  // Also after a timeout, which aborted the NCCL communicator already.
  void shutdown(bool clean) override {
    cudaSetDevice(device_);
    if (comm_ && clean) {
      cudaStreamSynchronize(stream_);
      ncclCommDestroy(comm_);
    } else if (comm_) {
      ncclCommAbort(comm_);  // does not wait for peers
    }
    comm_ = nullptr;
    if (scratch_) cudaFree(scratch_);
    if (stream_) cudaStreamDestroy(stream_);
    scratch_ = nullptr;
    stream_ = nullptr;
  }

 private:
  // The stream, the scratch word and the NCCL communicator, whose unique id rank 0 makes and
  // broadcasts over `bootstrap`.
  void start(Communicator& bootstrap, const CollectiveContext& ctx) {
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), ctx.name);
    check_cuda(cudaMalloc(&scratch_, sizeof(int32_t)), ctx.name);
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), ctx.name);
    bootstrap.broadcast(&id, sizeof id, DType::UInt8, 0, ctx);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // calls return at once; wait_for_comm() polls them with a deadline
    check(ncclCommInitRankConfig(&comm_, size_, id, rank_, &config), ctx.name);
    wait_for_comm(ctx);
  }

  bool equal(const std::vector<int64_t>& counts) const {
    for (int64_t c : counts) {
      if (c != counts[0]) return false;
    }
    return true;
  }

  void check(ncclResult_t status, const char* what) const {
    if (status != ncclSuccess && status != ncclInProgress) {
      throw DistributedError(std::string("[") + what + "] NCCL failed on rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_) + ": " + ncclGetErrorString(status));
    }
  }

  [[noreturn]] void time_out(const CollectiveContext& ctx) {
    ncclCommAbort(comm_);
    comm_ = nullptr;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", ctx.timeout_seconds);
    throw DistributedError(std::string("[") + ctx.name + "] timed out after " + seconds + " s waiting for the other " +
                           std::to_string(size_ - 1) + " of " + std::to_string(size_) + " ranks (this is rank " +
                           std::to_string(rank_) + "); the NCCL communicator was aborted");
  }

  bool past(Clock::time_point start, const CollectiveContext& ctx) const {
    return ctx.timeout_seconds > 0 && std::chrono::duration<double>(Clock::now() - start).count() > ctx.timeout_seconds;
  }

  // Until the communicator has no call in progress (non-blocking NCCL).
  void wait_for_comm(const CollectiveContext& ctx) {
    const auto start = Clock::now();
    for (;;) {
      ncclResult_t state = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &state), ctx.name);
      if (state == ncclSuccess) return;
      check(state, ctx.name);
      if (past(start, ctx)) time_out(ctx);
      sched_yield();
    }
  }

  // Enqueues a call on the stream, then polls the stream and the communicator's errors.
  template <class Call>
  void run(const CollectiveContext& ctx, Call&& call) {
    if (!comm_) throw DistributedError(std::string("[") + ctx.name + "] the NCCL communicator was aborted");
    check_cuda(cudaSetDevice(device_), ctx.name);
    check(call(), ctx.name);
    wait_for_comm(ctx);
    const auto start = Clock::now();
    for (;;) {
      const cudaError_t done = cudaStreamQuery(stream_);
      if (done == cudaSuccess) return;
      if (done != cudaErrorNotReady) check_cuda(done, ctx.name);
      ncclResult_t state = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &state), ctx.name);
      check(state, ctx.name);
      if (past(start, ctx)) time_out(ctx);
      sched_yield();
    }
  }

  int rank_, size_, local_rank_, device_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  void* scratch_ = nullptr;
};

}  // namespace
}  // namespace loom::dist::nccl

extern "C" __attribute__((visibility("default"))) loom::dist::Communicator* loom_communicator_create(
    int interface_version, const loom::dist::CommunicatorSetup* setup, char* message, int capacity) {
  auto say = [&](const std::string& text) { std::snprintf(message, static_cast<size_t>(capacity), "%s", text.c_str()); };
  if (interface_version != loom::dist::Communicator::kInterfaceVersion) {
    say("[dist.init] libloom_nccl.so was built for communicator interface " +
        std::to_string(loom::dist::Communicator::kInterfaceVersion) + ", libloom has " + std::to_string(interface_version));
    return nullptr;
  }
  if (!setup || !setup->bootstrap) {
    say("[dist.init] the NCCL communicator needs the MPI communicator to bootstrap over");
    return nullptr;
  }
  try {
    return new loom::dist::nccl::NcclCommunicator(*setup);
  } catch (const std::exception& e) {
    say(e.what());
    return nullptr;
  }
}
