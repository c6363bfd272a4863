// Collectives over MPI and NCCL, and the distributed optimizer of custom loops (loom::dist,
// loom::nn::DistributedOptimizer).
#include "errors.hpp"
#include "handles.hpp"
#include "loom/dist.hpp"

using namespace loom::capi;

namespace {

loom::dist::ReduceOp reduce_op_arg(int32_t op) {
  switch (op) {
    case LOOM_REDUCE_SUM: return loom::dist::ReduceOp::Sum;
    case LOOM_REDUCE_MEAN: return loom::dist::ReduceOp::Mean;
    case LOOM_REDUCE_MAX: return loom::dist::ReduceOp::Max;
    case LOOM_REDUCE_MIN: return loom::dist::ReduceOp::Min;
    default: break;
  }
  throw loom::InvalidArgument("op " + std::to_string(op) + " is not a LOOM_REDUCE_* value");
}

std::vector<loom::Variable> variable_list(loom_variable* const* variables, int32_t count) {
  count_arg(variables, count, "variables", "count");
  std::vector<loom::Variable> out;
  for (int32_t i = 0; i < count; ++i) {
    out.push_back(live(variables[i], ("variables[" + std::to_string(i) + "]").c_str()).value);
  }
  return out;
}

loom::nn::DistributedOptimizer& optimizer_arg(loom_dist_optimizer* optimizer) {
  return *live(optimizer, "optimizer").value;
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_dist_init(const char* backend) {
  return guarded("loom_dist_init", [&] { loom::dist::init(backend ? backend : "mpi"); });
}

LOOM_CAPI loom_status loom_dist_finalize(void) {
  return guarded("loom_dist_finalize", [] { loom::dist::finalize(); });
}

LOOM_CAPI loom_status loom_dist_initialized(int32_t* out) {
  return guarded("loom_dist_initialized", [&] { value_out(out, "out") = loom::dist::initialized() ? 1 : 0; });
}

LOOM_CAPI loom_status loom_dist_rank(int32_t* out) {
  return guarded("loom_dist_rank", [&] { value_out(out, "out") = loom::dist::rank(); });
}

LOOM_CAPI loom_status loom_dist_size(int32_t* out) {
  return guarded("loom_dist_size", [&] { value_out(out, "out") = loom::dist::size(); });
}

LOOM_CAPI loom_status loom_dist_local_rank(int32_t* out) {
  return guarded("loom_dist_local_rank", [&] { value_out(out, "out") = loom::dist::local_rank(); });
}

LOOM_CAPI loom_status loom_dist_set_timeout(double seconds) {
  return guarded("loom_dist_set_timeout", [&] { loom::dist::set_timeout(seconds); });
}

LOOM_CAPI loom_status loom_dist_get_timeout(double* out) {
  return guarded("loom_dist_get_timeout", [&] { value_out(out, "out") = loom::dist::timeout(); });
}

LOOM_CAPI loom_status loom_dist_set_validation(int32_t enabled) {
  return guarded("loom_dist_set_validation", [&] { loom::dist::set_validation(enabled != 0); });
}

LOOM_CAPI loom_status loom_dist_all_reduce(const loom_tensor* x, int32_t op, loom_tensor** out) {
  return tensor_result("loom_dist_all_reduce", out,
                       [&] { return loom::dist::all_reduce(live(x, "x").value, reduce_op_arg(op)); });
}

LOOM_CAPI loom_status loom_dist_all_reduce_variable(loom_variable* variable, int32_t op) {
  return guarded("loom_dist_all_reduce_variable", [&] {
    loom::dist::all_reduce_inplace(live(variable, "variable").value, reduce_op_arg(op));
  });
}

LOOM_CAPI loom_status loom_dist_broadcast(const loom_tensor* x, int32_t root, loom_tensor** out) {
  return tensor_result("loom_dist_broadcast", out, [&] { return loom::dist::broadcast(live(x, "x").value, root); });
}

LOOM_CAPI loom_status loom_dist_broadcast_variable(loom_variable* variable, int32_t root) {
  return guarded("loom_dist_broadcast_variable",
                 [&] { loom::dist::broadcast_inplace(live(variable, "variable").value, root); });
}

LOOM_CAPI loom_status loom_dist_broadcast_model(loom_model* model, int32_t root) {
  return guarded("loom_dist_broadcast_model", [&] {
    with_model(model, false, [&](loom::nn::Model& m) { loom::dist::broadcast_variables(m.weights(), root); });
  });
}

LOOM_CAPI loom_status loom_dist_all_gather(const loom_tensor* x, loom_tensor** out) {
  return tensor_result("loom_dist_all_gather", out, [&] { return loom::dist::all_gather(live(x, "x").value); });
}

LOOM_CAPI loom_status loom_dist_reduce_scatter(const loom_tensor* x, int32_t op, loom_tensor** out) {
  return tensor_result("loom_dist_reduce_scatter", out,
                       [&] { return loom::dist::reduce_scatter(live(x, "x").value, reduce_op_arg(op)); });
}

LOOM_CAPI loom_status loom_dist_barrier(void) {
  return guarded("loom_dist_barrier", [] { loom::dist::barrier(); });
}

LOOM_CAPI loom_status loom_dist_optimizer_new(loom_optimizer* optimizer, int64_t bucket_bytes, loom_dist_optimizer** out) {
  return guarded("loom_dist_optimizer_new", [&] {
    loom_dist_optimizer*& result = out_param(out, "out");
    require(bucket_bytes >= 0, "bucket_bytes must be >= 0 (0: 25 MiB), got " + std::to_string(bucket_bytes));
    loom::dist::BucketOptions options;
    if (bucket_bytes > 0) options.bucket_bytes = bucket_bytes;
    auto handle = std::make_unique<loom_dist_optimizer>();
    handle->value = std::make_unique<loom::nn::DistributedOptimizer>(live(optimizer, "optimizer").value, options);
    result = adopt_handle(std::move(handle));
  });
}

LOOM_CAPI void loom_dist_optimizer_release(loom_dist_optimizer* optimizer) {
  release_handle(optimizer, "loom_dist_optimizer_release");
}

LOOM_CAPI loom_status loom_dist_optimizer_watch(loom_dist_optimizer* optimizer, loom_tape* tape,
                                                loom_variable* const* variables, int32_t count) {
  return guarded("loom_dist_optimizer_watch", [&] {
    loom::nn::DistributedOptimizer& opt = optimizer_arg(optimizer);
    opt.watch(*live(tape, "tape").tape, variable_list(variables, count));
  });
}

LOOM_CAPI loom_status loom_dist_optimizer_apply_gradients(loom_dist_optimizer* optimizer, const loom_tensor* const* grads,
                                                          loom_variable* const* variables, int32_t count) {
  return guarded("loom_dist_optimizer_apply_gradients", [&] {
    loom::nn::DistributedOptimizer& opt = optimizer_arg(optimizer);
    const std::vector<loom::Variable> vars = variable_list(variables, count);
    count_arg(grads, count, "grads", "count");
    std::vector<loom::Tensor> gs;
    for (int32_t i = 0; i < count; ++i) {
      gs.push_back(grads[i] ? live(grads[i], ("grads[" + std::to_string(i) + "]").c_str()).value : loom::Tensor());
    }
    opt.apply_gradients(gs, vars);
  });
}

LOOM_CAPI loom_status loom_dist_optimizer_broadcast_state(loom_dist_optimizer* optimizer, loom_variable* const* variables,
                                                          int32_t count, int32_t root) {
  return guarded("loom_dist_optimizer_broadcast_state",
                 [&] { optimizer_arg(optimizer).broadcast_state(variable_list(variables, count), root); });
}

LOOM_CAPI loom_status loom_dist_optimizer_stats(const loom_dist_optimizer* optimizer, int64_t* buckets, int64_t* bytes,
                                                double* communication_seconds, double* exposed_seconds) {
  return guarded("loom_dist_optimizer_stats", [&] {
    const loom::dist::BucketStats s = live(optimizer, "optimizer").value->last_stats();
    if (buckets) *buckets = s.buckets;
    if (bytes) *bytes = s.bytes;
    if (communication_seconds) *communication_seconds = s.communication;
    if (exposed_seconds) *exposed_seconds = s.exposed;
  });
}

}  // extern "C"
