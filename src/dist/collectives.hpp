#pragma once
// What the collectives and the gradient bucketer share: checking a call across ranks
// (validation mode), picking the communicator for a device, and launching on the
// communication thread.
#include <functional>
#include <future>

#include "dist/context.hpp"
#include "loom/shape.hpp"
#include "loom/tensor.hpp"

namespace loom::dist::detail {

enum class CollectiveKind : int64_t { AllReduce, Broadcast, AllGather, ReduceScatter, Barrier };

// One call as validation mode compares it across ranks.
struct CallDescription {
  CollectiveKind kind;
  DType dtype = DType::Float32;
  Shape shape;
  ReduceOp op = ReduceOp::Sum;
  int root = 0;
};

// In validation mode: every rank's description, compared with rank 0's (all_gather: after the
// first axis). A mismatch fails on every rank, naming both ranks and what they pass.
void validate(Context& c, const char* function, const CallDescription& call);

// Whether tensors on `device` go through host memory (GPU tensors with the "mpi" backend).
// DeviceError for a GPU that is not the one NCCL uses.
bool staged_through_host(const Context& c, Device device, const char* function);

// Runs `body` with the communicator serving `device` on the communication thread, after the
// device's queued work (which produced the buffers) is done.
using CollectiveBody = std::function<void(Communicator&, const CollectiveContext&)>;
std::future<void> launch_collective(Context& c, const char* function, Device device, CollectiveBody body);

// Sum, Max or Min for the transport (Mean is a Sum followed by a division).
ReduceOp transport_op(ReduceOp op);
// The mean of `size` ranks' values from their sum (16-bit floats divide in float32, which every
// device supports).
Tensor mean_from_sum(const Tensor& sum, int size);

}  // namespace loom::dist::detail
