// The MPI communicator (libloom_mpi.so): CPU buffers over MPI's non-blocking collectives,
// polled until done or until the timeout, so that a dead or stuck peer ends in an error rather
// than a hang. libloom calls it from its communication thread only.
#include <dlfcn.h>
#include <mpi.h>
#include <sched.h>

#include <chrono>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <string>
#include <thread>

#include "comm/mpi/mpi_types.hpp"
#include "loom/error.hpp"

namespace loom::dist::mpi {
namespace {

using Clock = std::chrono::steady_clock;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

// Open MPI opens its components with dlopen and expects libmpi's symbols to be global, which
// they are not when libmpi came in as a dependency of this plugin, opened RTLD_LOCAL: promote it.
void make_mpi_symbols_global() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) != 0 && info.dli_fname) {
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) throw DistributedError("[dist.init] MPI was finalised already in this process and cannot start again");
    if (!initialized) {
      // SERIALIZED: libloom's communication thread makes every call, and a later init() after a
      // failed one may run on a new thread.
      int provided = 0;
      const int status = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
      if (status != MPI_SUCCESS) throw DistributedError("[dist.init] MPI_Init_thread failed: " + mpi_error_text(status));
      owns_mpi_ = true;
    } else {
      int provided = 0;
      MPI_Query_thread(&provided);
      if (provided < MPI_THREAD_SERIALIZED) {
        throw DistributedError(
            "[dist.init] the application initialised MPI with a thread level below MPI_THREAD_SERIALIZED; loom makes "
            "its MPI calls from its own communication thread: initialise MPI with MPI_Init_thread(..., "
            "MPI_THREAD_MULTIPLE) or let loom initialise it");
      }
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);  // errors become exceptions, not an abort
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm node = MPI_COMM_NULL;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    create_half_operations();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }

  void all_reduce(const void* send, void* recv, int64_t count, DType dtype, ReduceOp op,
                  const CollectiveContext& ctx) override {
    const size_t width = dtype_size(dtype);
    int64_t done = 0;
    do {  // in chunks: MPI counts are ints
      const int n = static_cast<int>(std::min<int64_t>(kChunk, count - done));
      char* out = static_cast<char*>(recv) + static_cast<size_t>(done) * width;
      const void* in = send == recv ? MPI_IN_PLACE : static_cast<const char*>(send) + static_cast<size_t>(done) * width;
      MPI_Request request;
      check(MPI_Iallreduce(in, out, n, datatype(dtype), operation(dtype, op), comm_, &request), ctx);
      wait(request, ctx);
      done += n;
    } while (done < count);
  }

  void broadcast(void* data, int64_t count, DType dtype, int root, const CollectiveContext& ctx) override {
    const size_t width = dtype_size(dtype);
    int64_t done = 0;
    do {
      const int n = static_cast<int>(std::min<int64_t>(kChunk, count - done));
      MPI_Request request;
      check(MPI_Ibcast(static_cast<char*>(data) + static_cast<size_t>(done) * width, n, datatype(dtype), root, comm_,
                       &request),
            ctx);
      wait(request, ctx);
      done += n;
    } while (done < count);
  }

  void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype,
                  const CollectiveContext& ctx) override {
    std::vector<int> sizes, offsets;
    layout(counts, sizes, offsets, ctx);
    MPI_Request request;
    check(MPI_Iallgatherv(send, sizes[static_cast<size_t>(rank_)], datatype(dtype), recv, sizes.data(), offsets.data(),
                          datatype(dtype), comm_, &request),
          ctx);
    wait(request, ctx);
  }

  void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType dtype, ReduceOp op,
                      const CollectiveContext& ctx) override {
    std::vector<int> sizes, offsets;
    layout(counts, sizes, offsets, ctx);
    MPI_Request request;
    check(MPI_Ireduce_scatter(send, recv, sizes.data(), datatype(dtype), operation(dtype, op), comm_, &request), ctx);
    wait(request, ctx);
  }

  void barrier(const CollectiveContext& ctx) override {
    MPI_Request request;
    check(MPI_Ibarrier(comm_, &request), ctx);
    wait(request, ctx);
  }

  void shutdown(bool clean) override {
    // After a failure a collective may still be pending on a dead peer; MPI_Finalize would wait
    // for it. The process ends without it and the launcher ends the job.
    if (!clean) return;
    free_half_operations();
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

 private:
  static constexpr int64_t kChunk = int64_t{1} << 30;
  static constexpr unsigned kYieldingPolls = 2000;  // about a millisecond of eager polling
  static constexpr int kSleepMicroseconds = 20;

  void check(int status, const CollectiveContext& ctx) const {
    if (status != MPI_SUCCESS) {
      throw DistributedError(std::string("[") + ctx.name + "] MPI failed on rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_) + ": " + mpi_error_text(status));
    }
  }

  // Polls until the request completes (MPI_Test drives the progress of non-blocking
  // collectives). Waiting ranks first yield the core between polls, then sleep a little, so
  // that a rank still computing (or a backward pass on this one) gets the cores.
  void wait(MPI_Request& request, const CollectiveContext& ctx) const {
    const auto start = Clock::now();
    for (unsigned polls = 0;; ++polls) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), ctx);
      if (done) return;
      if (polls % 64 == 63 && ctx.timeout_seconds > 0 &&
          std::chrono::duration<double>(Clock::now() - start).count() > ctx.timeout_seconds) {
        time_out(ctx);
      }
      if (polls < kYieldingPolls) sched_yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(kSleepMicroseconds));
    }
  }

  [[noreturn]] void time_out(const CollectiveContext& ctx) const {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", ctx.timeout_seconds);
    throw DistributedError(std::string("[") + ctx.name + "] timed out after " + seconds + " s waiting for the other " +
                           std::to_string(size_ - 1) + " of " + std::to_string(size_) + " ranks (this is rank " +
                           std::to_string(rank_) +
                           "): a rank died, is stuck, or called another collective; the communicator is unusable now");
  }

  // MPI's int counts and displacements for per-rank element counts.
  void layout(const std::vector<int64_t>& counts, std::vector<int>& sizes, std::vector<int>& offsets,
              const CollectiveContext& ctx) const {
    int64_t offset = 0;
    for (int64_t c : counts) {
      if (c > INT_MAX || offset > INT_MAX) {
        throw InvalidArgument(std::string("[") + ctx.name + "] " + std::to_string(offset + c) +
                              " elements exceed MPI's int counts; split the tensor");
      }
      sizes.push_back(static_cast<int>(c));
      offsets.push_back(static_cast<int>(offset));
      offset += c;
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  bool owns_mpi_ = false;
};

}  // namespace
}  // namespace loom::dist::mpi

extern "C" __attribute__((visibility("default"))) loom::dist::Communicator* loom_communicator_create(
    int interface_version, const loom::dist::CommunicatorSetup*, char* message, int capacity) {
  auto say = [&](const std::string& text) { std::snprintf(message, static_cast<size_t>(capacity), "%s", text.c_str()); };
  if (interface_version != loom::dist::Communicator::kInterfaceVersion) {
    say("[dist.init] libloom_mpi.so was built for communicator interface " +
        std::to_string(loom::dist::Communicator::kInterfaceVersion) + ", libloom has " + std::to_string(interface_version));
    return nullptr;
  }
  try {
    loom::dist::mpi::make_mpi_symbols_global();
    return new loom::dist::mpi::MpiCommunicator();
  } catch (const std::exception& e) {
    say(e.what());
    return nullptr;
  }
}
