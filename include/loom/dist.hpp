#pragma once
// Collectives across processes and the gradient averaging of data-parallel training. The
// transports are plugins loaded on first use: MPI (libloom_mpi.so) for CPU tensors and for
// starting the job, NCCL (libloom_nccl.so) for GPU tensors, bootstrapped over MPI. Launch with
// `mpirun -np N program`; see docs/DISTRIBUTED.md.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loom/export.hpp"
#include "loom/tape.hpp"
#include "loom/tensor.hpp"
#include "loom/variable.hpp"

/// Processes (ranks) that compute together: collectives on tensors and the bucketed gradient
/// averaging of data-parallel training (Horovod's and PyTorch DDP's building blocks).
///
/// Every collective is called by every rank, in the same order, with tensors of the same dtype
/// and shape (all_gather: the same shape after the first axis). It runs on loom's communication
/// thread and fails with a DistributedError naming the collective and the rank count when the
/// other ranks do not join within timeout(). Calls before init() are DistributedErrors.
namespace loom::dist {

/// How all_reduce and reduce_scatter combine the ranks' values. Sum and Max of bool tensors are
/// a logical or, Min a logical and; integer sums wrap as the integer type does; Mean is for
/// floating dtypes only (a DTypeError otherwise).
enum class ReduceOp { Sum, Mean, Max, Min };
/// "sum", "mean", "max" or "min".
LOOM_API const char* reduce_op_name(ReduceOp op);

/// Joins the job this process was launched in (by mpirun, or alone as a job of one rank).
///
/// `backend` "mpi": collectives on CPU tensors over MPI (GPU tensors are staged through host
/// memory). "nccl": GPU tensors over NCCL on GPU `local_rank()`, CPU tensors over MPI; rank 0
/// makes NCCL's unique id and broadcasts it over MPI. Calling it again with the same backend
/// does nothing. NotFoundError naming the plugin and the package to install when this build or
/// machine has no MPI or NCCL; InvalidArgument for another backend name or a second init with a
/// different backend; DistributedError when the transport fails to start (MPI finalised
/// already, no GPU for NCCL).
LOOM_API void init(const std::string& backend = "mpi");
/// Leaves the job: waits for queued collectives, then shuts the transports down. After a
/// failed or timed-out collective it does not wait for the other ranks (they may be gone).
/// MPI cannot start again in this process afterwards. Does nothing when not initialised.
LOOM_API void finalize();
/// Whether init() has been called (and finalize() has not).
LOOM_API bool initialized();
/// The backend given to init() ("mpi" or "nccl").
LOOM_API std::string backend();
/// This process's rank, in [0, size()).
LOOM_API int rank();
/// The number of ranks in the job.
LOOM_API int size();
/// This process's rank among the ranks on its machine; with NCCL it is the GPU index used.
LOOM_API int local_rank();

/// Seconds a collective waits for the other ranks before failing with a DistributedError
/// (default 300, or the environment variable LOOM_DIST_TIMEOUT); InvalidArgument unless > 0.
/// After such a failure the communicator is unusable: the job should end.
LOOM_API void set_timeout(double seconds);
/// The current collective timeout in seconds.
LOOM_API double timeout();
/// Validation mode (off by default, or on with LOOM_DIST_VALIDATE=1): every collective first
/// compares what each rank passes (collective, dtype, shape, root, op) and fails on every rank
/// with a ShapeError (DTypeError for dtypes, InvalidArgument for the rest) naming two ranks and
/// what each passes, instead of computing garbage or waiting for the timeout. Costs one small
/// all-gather per collective. Every rank must set the same mode.
LOOM_API void set_validation(bool enabled);
/// Whether validation mode is on.
LOOM_API bool validation();

/// `op` over the ranks' `x`, elementwise: a new tensor of x's shape, dtype and device.
LOOM_API Tensor all_reduce(const Tensor& x, ReduceOp op = ReduceOp::Sum);
/// all_reduce into the variable itself (no copy).
LOOM_API void all_reduce_inplace(const Variable& variable, ReduceOp op = ReduceOp::Sum);
/// Rank `root`'s `x` on every rank (the others' x gives the shape and dtype). InvalidArgument
/// for a root outside [0, size()).
LOOM_API Tensor broadcast(const Tensor& x, int root = 0);
/// Overwrites the variable with rank `root`'s value.
LOOM_API void broadcast_inplace(const Variable& variable, int root = 0);
/// broadcast_inplace for each variable, in order (weights at the start of training).
LOOM_API void broadcast_variables(const std::vector<Variable>& variables, int root = 0);
/// Every rank's `x` joined along the first axis, in rank order (a scalar counts as one entry
/// along a new axis: the result then has shape (size(),)). The first axis may differ between
/// ranks; the other axes and the dtype may not.
LOOM_API Tensor all_gather(const Tensor& x);
/// `op` over the ranks' `x`, split along the first axis: rank r gets the r-th of size()
/// contiguous blocks, the first (n mod size()) blocks one row longer when n rows do not divide
/// evenly (so some ranks may get no rows). ShapeError for a scalar.
LOOM_API Tensor reduce_scatter(const Tensor& x, ReduceOp op = ReduceOp::Sum);
/// Returns once every rank has called it.
LOOM_API void barrier();

/// Options of the bucketed gradient averaging (GradientBucketer).
struct BucketOptions {
  /// Target size of a bucket: the gradients fused into one all-reduce (PyTorch DDP's and
  /// Horovod's default, 25 MiB). Must be > 0.
  int64_t bucket_bytes = 25 << 20;
  /// Launch each bucket as soon as its gradients are final during the backward pass (true), or
  /// only once the backward pass is over (false: no overlap, for comparison).
  bool overlap = true;
};

/// Timings of the last averaged step of a GradientBucketer, in seconds.
struct BucketStats {
  int64_t buckets = 0;          ///< Buckets all-reduced.
  int64_t bytes = 0;            ///< Gradient bytes all-reduced.
  double communication = 0;     ///< Time the all-reduces took on the communication thread.
  double exposed = 0;           ///< Time finish() waited for them: communication not hidden.
};

/// Averages gradients over the ranks in buckets, as PyTorch DDP and Horovod do.
///
/// The variables' gradients are laid out, in reverse order (the order a backward pass produces
/// them), in buckets of about BucketOptions::bucket_bytes, one dtype and device per bucket. With
/// watch(tape), the tape's next gradient() hands over each gradient as soon as it is final;
/// each bucket whose gradients are all in is all-reduced on the communication thread while the
/// backward pass goes on. Buckets are launched strictly in order, so every rank issues the
/// same collectives in the same order. finish() waits and returns the averages.
class LOOM_API GradientBucketer {
 public:
  /// Plans the buckets of `variables`; InvalidArgument for bucket_bytes <= 0, an undefined
  /// variable or the same variable twice.
  explicit GradientBucketer(std::vector<Variable> variables, BucketOptions options = {});
  ~GradientBucketer();
  GradientBucketer(const GradientBucketer&) = delete;             ///< Not copyable.
  GradientBucketer& operator=(const GradientBucketer&) = delete;  ///< Not copyable.

  /// Makes `tape`'s next gradient() hand these variables' gradients over as they become final
  /// (gradients of other sources are ignored). Starts a step; InvalidArgument while one is
  /// running.
  void watch(GradientTape& tape);
  /// Hands over the gradient of variable `index` (undefined: zeros) and launches the buckets
  /// that are complete. Starts a step if none runs. InvalidArgument for an index out of range,
  /// a gradient handed over twice or one of another shape.
  void add(size_t index, const Tensor& gradient);
  /// Waits for the step's all-reduces, launching what is left first (gradients never handed
  /// over count as zeros), and returns the averages in the order of the variables, in fresh
  /// memory. Ends the step; rethrows the first failure of its collectives (the step ends
  /// then too).
  std::vector<Tensor> finish();
  /// add() for every gradient (one per variable, undefined: zeros), then finish().
  std::vector<Tensor> average(const std::vector<Tensor>& gradients);
  /// Whether a step is running (watch() or add() called, finish() not yet).
  bool in_progress() const;
  /// The number of buckets.
  size_t bucket_count() const;
  /// The variables in bucket `bucket`, as indices into the variable list.
  std::vector<size_t> bucket_members(size_t bucket) const;
  /// Timings of the last finished step.
  BucketStats last_stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace loom::dist
