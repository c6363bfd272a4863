// The collectives on tensors: checks, outputs, the transport on the communication thread.
#include <numeric>

#include "dist/collectives.hpp"
#include "loom/backend/backend.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"
#include "loom/tape.hpp"

namespace loom::dist {
namespace detail {

bool staged_through_host(const Context& c, Device device, const char* function) {
  if (device.type == DeviceType::CPU) return false;
  if (!c.gpu) return true;
  if (device.index != c.local_rank) {
    throw DeviceError(std::string("[") + function + "] NCCL on rank " + std::to_string(c.rank) + " uses GPU:" +
                      std::to_string(c.local_rank) + " (its local rank), but the tensor is on " + device.str());
  }
  return false;
}

std::future<void> launch_collective(Context& c, const char* function, Device device, CollectiveBody body) {
  Communicator& comm = device.type == DeviceType::GPU ? *c.gpu : *c.host;
  const CollectiveContext context{function, timeout_seconds()};
  return c.launch(function, [&comm, context, device, body = std::move(body)] {
    if (device.type == DeviceType::GPU) backend_for(device, context.name).synchronize(device.index);
    body(comm, context);
  });
}

ReduceOp transport_op(ReduceOp op) { return op == ReduceOp::Mean ? ReduceOp::Sum : op; }

Tensor mean_from_sum(const Tensor& sum, int size) {
  if (sum.dtype() == DType::Float16 || sum.dtype() == DType::BFloat16) {
    return cast(cast(sum, DType::Float32) / static_cast<double>(size), sum.dtype());
  }
  return sum / static_cast<double>(size);
}

}  // namespace detail

namespace {

using detail::CallDescription;
using detail::CollectiveKind;
using detail::Context;

void require_defined(const Tensor& x, const char* function) {
  if (!x.defined()) throw InvalidArgument(std::string("[") + function + "] the tensor handle is empty");
}

void require_op(ReduceOp op, DType dtype, const char* function) {
  if (op != ReduceOp::Sum && op != ReduceOp::Mean && op != ReduceOp::Max && op != ReduceOp::Min) {
    throw InvalidArgument(std::string("[") + function + "] unknown reduction " + std::to_string(static_cast<int>(op)));
  }
  if (op == ReduceOp::Mean && !is_floating(dtype)) {
    throw DTypeError(std::string("[") + function + "] mean needs a floating dtype, got " + dtype_name(dtype) +
                     " (use sum and divide)");
  }
}

void require_root(const Context& c, int root, const char* function) {
  if (root < 0 || root >= c.size) {
    throw InvalidArgument(std::string("[") + function + "] root " + std::to_string(root) + " is not a rank (" +
                          std::to_string(c.size) + " ranks)");
  }
}

// The mean from a sum over the ranks.
Tensor divided(const Tensor& sum, ReduceOp op, int size) {
  return op == ReduceOp::Mean && size > 1 ? detail::mean_from_sum(sum, size) : sum;
}

// Elements per entry of the first axis.
int64_t row_elements(const Shape& shape) {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Tensor all_reduce_unchecked(Context& c, const Tensor& x, ReduceOp op, const char* function) {
  if (detail::staged_through_host(c, x.device(), function)) {
    return all_reduce_unchecked(c, x.to(Device::cpu()), op, function).to(x.device());
  }
  const Tensor send = x.contiguous();
  const Tensor recv = empty(x.shape(), x.dtype(), x.device(), function);
  const ReduceOp wire = detail::transport_op(op);
  detail::launch_collective(c, function, x.device(), [send, recv, wire](Communicator& comm, const CollectiveContext& ctx) {
    comm.all_reduce(send.data_ptr(), recv.data_ptr(), send.numel(), send.dtype(), wire, ctx);
  }).get();
  return divided(recv, op, c.size);
}

Tensor broadcast_unchecked(Context& c, const Tensor& x, int root, const char* function) {
  if (detail::staged_through_host(c, x.device(), function)) {
    return broadcast_unchecked(c, x.to(Device::cpu()), root, function).to(x.device());
  }
  const Tensor data = c.rank == root ? x.clone() : empty(x.shape(), x.dtype(), x.device(), function);
  detail::launch_collective(c, function, x.device(), [data, root](Communicator& comm, const CollectiveContext& ctx) {
    comm.broadcast(data.data_ptr(), data.numel(), data.dtype(), root, ctx);
  }).get();
  return data;
}

// Every rank's length of the first axis, gathered over MPI.
std::vector<int64_t> gather_rows(Context& c, int64_t rows, const char* function) {
  std::vector<int64_t> all(static_cast<size_t>(c.size));
  const std::vector<int64_t> counts(static_cast<size_t>(c.size), 1);
  const CollectiveContext context{function, detail::timeout_seconds()};
  c.run(function, [&] { c.host->all_gather(&rows, all.data(), counts, DType::Int64, context); });
  return all;
}

Tensor all_gather_unchecked(Context& c, const Tensor& x, const char* function) {
  if (detail::staged_through_host(c, x.device(), function)) {
    return all_gather_unchecked(c, x.to(Device::cpu()), function).to(x.device());
  }
  const Tensor send = x.rank() == 0 ? reshape(x, Shape{1}) : x.contiguous();
  const std::vector<int64_t> rows = gather_rows(c, send.dim(0), function);
  const int64_t row = row_elements(send.shape());
  std::vector<int64_t> counts;
  for (int64_t r : rows) counts.push_back(r * row);
  Shape shape = send.shape();
  shape[0] = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  const Tensor recv = empty(shape, x.dtype(), x.device(), function);
  detail::launch_collective(c, function, x.device(), [send, recv, counts](Communicator& comm, const CollectiveContext& ctx) {
    comm.all_gather(send.data_ptr(), recv.data_ptr(), counts, send.dtype(), ctx);
  }).get();
  return recv;
}

Tensor reduce_scatter_unchecked(Context& c, const Tensor& x, ReduceOp op, const char* function) {
  if (detail::staged_through_host(c, x.device(), function)) {
    return reduce_scatter_unchecked(c, x.to(Device::cpu()), op, function).to(x.device());
  }
  const Tensor send = x.contiguous();
  const int64_t n = x.dim(0), size = c.size;
  std::vector<int64_t> counts;
  for (int64_t r = 0; r < size; ++r) counts.push_back((n / size + (r < n % size ? 1 : 0)) * row_elements(x.shape()));
  Shape shape = x.shape();
  shape[0] = n / size + (c.rank < n % size ? 1 : 0);
  const Tensor recv = empty(shape, x.dtype(), x.device(), function);
  const ReduceOp wire = detail::transport_op(op);
  detail::launch_collective(c, function, x.device(), [send, recv, counts, wire](Communicator& comm, const CollectiveContext& ctx) {
    comm.reduce_scatter(send.data_ptr(), recv.data_ptr(), counts, send.dtype(), wire, ctx);
  }).get();
  return divided(recv, op, c.size);
}

// Whether a collective can work in the variable's own memory.
bool in_place_possible(const Context& c, const Variable& v, const char* function) {
  return v.is_contiguous() && !detail::staged_through_host(c, v.device(), function);
}

}  // namespace

Tensor all_reduce(const Tensor& x, ReduceOp op) {
  static const char* const fn = "dist.all_reduce";
  const auto c = detail::context(fn);
  require_defined(x, fn);
  require_op(op, x.dtype(), fn);
  NoGradGuard no_grad;  // collectives are not differentiable ops
  detail::validate(*c, fn, CallDescription{CollectiveKind::AllReduce, x.dtype(), x.shape(), op, 0});
  return all_reduce_unchecked(*c, x, op, fn);
}

void all_reduce_inplace(const Variable& variable, ReduceOp op) {
  static const char* const fn = "dist.all_reduce_inplace";
  const auto c = detail::context(fn);
  require_defined(variable, fn);
  require_op(op, variable.dtype(), fn);
  NoGradGuard no_grad;
  detail::validate(*c, fn, CallDescription{CollectiveKind::AllReduce, variable.dtype(), variable.shape(), op, 0});
  Variable target = variable;
  if (!in_place_possible(*c, variable, fn)) {
    target.assign(all_reduce_unchecked(*c, variable, op, fn));
    return;
  }
  const ReduceOp wire = detail::transport_op(op);
  detail::launch_collective(*c, fn, variable.device(), [target, wire](Communicator& comm, const CollectiveContext& ctx) {
    comm.all_reduce(target.data_ptr(), target.data_ptr(), target.numel(), target.dtype(), wire, ctx);
  }).get();
  if (op == ReduceOp::Mean && c->size > 1) target.assign(divided(target.read_value(), op, c->size));
}

Tensor broadcast(const Tensor& x, int root) {
  static const char* const fn = "dist.broadcast";
  const auto c = detail::context(fn);
  require_defined(x, fn);
  require_root(*c, root, fn);
  NoGradGuard no_grad;
  detail::validate(*c, fn, CallDescription{CollectiveKind::Broadcast, x.dtype(), x.shape(), ReduceOp::Sum, root});
  return broadcast_unchecked(*c, x, root, fn);
}

void broadcast_inplace(const Variable& variable, int root) {
  static const char* const fn = "dist.broadcast_inplace";
  const auto c = detail::context(fn);
  require_defined(variable, fn);
  require_root(*c, root, fn);
  NoGradGuard no_grad;
  detail::validate(*c, fn, CallDescription{CollectiveKind::Broadcast, variable.dtype(), variable.shape(), ReduceOp::Sum, root});
  Variable target = variable;
  if (!in_place_possible(*c, variable, fn)) {
    target.assign(broadcast_unchecked(*c, variable, root, fn));
    return;
  }
  detail::launch_collective(*c, fn, variable.device(), [target, root](Communicator& comm, const CollectiveContext& ctx) {
    comm.broadcast(target.data_ptr(), target.numel(), target.dtype(), root, ctx);
  }).get();
}

void broadcast_variables(const std::vector<Variable>& variables, int root) {
  for (const Variable& v : variables) broadcast_inplace(v, root);
}

Tensor all_gather(const Tensor& x) {
  static const char* const fn = "dist.all_gather";
  const auto c = detail::context(fn);
  require_defined(x, fn);
  NoGradGuard no_grad;
  const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  detail::validate(*c, fn, CallDescription{CollectiveKind::AllGather, x.dtype(), shape, ReduceOp::Sum, 0});
  return all_gather_unchecked(*c, x, fn);
}

Tensor reduce_scatter(const Tensor& x, ReduceOp op) {
  static const char* const fn = "dist.reduce_scatter";
  const auto c = detail::context(fn);
  require_defined(x, fn);
  require_op(op, x.dtype(), fn);
  if (x.rank() == 0) {
    throw ShapeError(std::string("[") + fn + "] needs a tensor with a first axis to split, got a scalar " + x.shape().str());
  }
  NoGradGuard no_grad;
  detail::validate(*c, fn, CallDescription{CollectiveKind::ReduceScatter, x.dtype(), x.shape(), op, 0});
  return reduce_scatter_unchecked(*c, x, op, fn);
}

void barrier() {
  static const char* const fn = "dist.barrier";
  const auto c = detail::context(fn);
  detail::validate(*c, fn, CallDescription{CollectiveKind::Barrier, DType::Float32, Shape{}, ReduceOp::Sum, 0});
  detail::launch_collective(*c, fn, Device::cpu(), [](Communicator& comm, const CollectiveContext& ctx) {
    comm.barrier(ctx);
  }).get();
}

}  // namespace loom::dist
