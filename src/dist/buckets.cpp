// GradientBucketer: gradients fused into buckets of ~25 MiB, each all-reduced on the
// communication thread as soon as the backward pass has produced all of its gradients.
#include <chrono>
#include <unordered_map>

#include "dist/collectives.hpp"
#include "loom/backend/backend.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::dist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

struct GradientBucketer::Impl {
  struct Bucket {
    DType dtype;
    Device device;
    std::vector<size_t> members;  // variable indices, in the order gradients arrive
    std::vector<int64_t> offsets;  // each member's first element in the bucket
    int64_t elements = 0;
  };
  std::shared_ptr<detail::Context> context;
  std::vector<Variable> variables;
  BucketOptions options;
  std::unordered_map<uint64_t, size_t> index_of;  // variable id -> index
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;  // per variable

  // The running step.
  bool running = false;
  std::vector<Tensor> flats;     // per bucket: the gradients, laid out
  std::vector<Tensor> wires;     // per bucket: what the transport reduces (a host copy when staged)
  std::vector<bool> handed;      // per variable
  std::vector<size_t> missing;   // per bucket: members not handed over yet
  size_t launched = 0;           // buckets launched, in order
  std::vector<std::future<void>> pending;
  std::vector<double> durations;  // per bucket, written by the communication thread
  BucketStats stats;

  void plan();
  void start_step();
  void add(size_t index, const Tensor& gradient);
  void launch_ready(bool all);
  void launch(size_t b);
  std::vector<Tensor> finish();
  void end_step();
  void drain();
};

void GradientBucketer::Impl::plan() {
  for (size_t k = variables.size(); k-- > 0;) {  // backward passes finish the last weights first
    const Variable& v = variables[k];
    const int64_t bytes = v.numel() * static_cast<int64_t>(dtype_size(v.dtype()));
    Bucket* current = buckets.empty() ? nullptr : &buckets.back();
    const bool fits = current && current->dtype == v.dtype() && current->device == v.device() &&
                      (current->elements * static_cast<int64_t>(dtype_size(v.dtype())) + bytes <= options.bucket_bytes);
    if (!fits) {
      buckets.push_back(Bucket{v.dtype(), v.device(), {}, {}, 0});
      current = &buckets.back();
    }
    current->members.push_back(k);
    current->offsets.push_back(current->elements);
    current->elements += v.numel();
    bucket_of[k] = buckets.size() - 1;
  }
}

void GradientBucketer::Impl::start_step() {
  drain();
  flats.clear();
  wires.assign(buckets.size(), Tensor());
  for (const Bucket& b : buckets) flats.push_back(empty(Shape{b.elements}, b.dtype, b.device, "GradientBucketer"));
  handed.assign(variables.size(), false);
  missing.clear();
  for (const Bucket& b : buckets) missing.push_back(b.members.size());
  launched = 0;
  pending.clear();
  durations.assign(buckets.size(), 0.0);
  running = true;
}

void GradientBucketer::Impl::add(size_t index, const Tensor& gradient) {
  if (index >= variables.size()) {
    throw InvalidArgument("[GradientBucketer.add] index " + std::to_string(index) + " is out of range (" +
                          std::to_string(variables.size()) + " variables)");
  }
  if (!running) start_step();
  const Variable& v = variables[index];
  if (handed[index]) {
    throw InvalidArgument("[GradientBucketer.add] the gradient of '" + v.name() + "' was handed over already this step");
  }
  if (gradient.defined() && gradient.shape() != v.shape()) {
    throw ShapeError("[GradientBucketer.add] the gradient of '" + v.name() + "' has shape " + gradient.shape().str() +
                     ", the variable is " + v.shape().str());
  }
  NoGradGuard no_grad;  // laying gradients out is no part of any gradient
  const size_t b = bucket_of[index];
  const Bucket& bucket = buckets[b];
  size_t slot = 0;
  while (bucket.members[slot] != index) ++slot;
  const Tensor g = (gradient.defined() ? gradient.cast(bucket.dtype).to(bucket.device) : zeros_like(v)).contiguous();
  const size_t offset_bytes = static_cast<size_t>(bucket.offsets[slot]) * dtype_size(bucket.dtype);
  if (g.nbytes() > 0) {
    backend_for(bucket.device, "GradientBucketer").copy_on_device(
        static_cast<char*>(flats[b].data_ptr()) + offset_bytes, g.data_ptr(), g.nbytes(), bucket.device.index);
  }
  handed[index] = true;
  --missing[b];
  launch_ready(false);
}

void GradientBucketer::Impl::launch_ready(bool all) {
  if (!options.overlap && !all) return;
  while (launched < buckets.size() && missing[launched] == 0) launch(launched++);
}

void GradientBucketer::Impl::launch(size_t b) {
  static const char* const fn = "GradientBucketer";
  const Device device = buckets[b].device;
  const bool staged = detail::staged_through_host(*context, device, fn);
  wires[b] = staged ? flats[b].to(Device::cpu()) : flats[b];
  const Tensor wire = wires[b];
  double* duration = &durations[b];
  pending.push_back(detail::launch_collective(
      *context, "dist.all_reduce (gradient bucket)", staged ? Device::cpu() : device,
      [wire, duration](Communicator& comm, const CollectiveContext& ctx) {
        const auto start = Clock::now();
        comm.all_reduce(wire.data_ptr(), wire.data_ptr(), wire.numel(), wire.dtype(), ReduceOp::Sum, ctx);
        *duration = seconds_since(start);
      }));
}

std::vector<Tensor> GradientBucketer::Impl::finish() {
  if (!running) {
    throw InvalidArgument("[GradientBucketer.finish] no step is running: call watch() or add() first");
  }
  // Gradients nobody handed over count as zeros, so every rank reduces the same buckets.
  for (size_t k = 0; k < variables.size(); ++k) {
    if (!handed[k]) add(k, Tensor());
  }
  launch_ready(true);
  const auto start = Clock::now();
  std::exception_ptr failure;
  for (std::future<void>& f : pending) {
    try {
      f.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  stats = BucketStats{};
  stats.exposed = seconds_since(start);
  if (failure) {
    end_step();
    std::rethrow_exception(failure);
  }
  NoGradGuard no_grad;
  std::vector<Tensor> averages(variables.size());
  for (size_t b = 0; b < buckets.size(); ++b) {
    const Bucket& bucket = buckets[b];
    const Tensor sum = wires[b].to(bucket.device);
    const Tensor mean = context->size > 1 ? detail::mean_from_sum(sum, context->size) : sum.clone();
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      const Variable& v = variables[bucket.members[slot]];
      averages[bucket.members[slot]] = make_view(mean, v.shape(), contiguous_strides(v.shape()), bucket.offsets[slot]);
    }
    stats.buckets += 1;
    stats.bytes += bucket.elements * static_cast<int64_t>(dtype_size(bucket.dtype));
    stats.communication += durations[b];
  }
  end_step();
  return averages;
}

// A step cut short (an exception between watch() and finish()) may still have collectives
// queued that write its timings: wait for them, whatever they report.
void GradientBucketer::Impl::drain() {
  for (std::future<void>& f : pending) {
    try {
      if (f.valid()) f.get();
    } catch (...) {
    }
  }
  pending.clear();
}

void GradientBucketer::Impl::end_step() {
  running = false;
  flats.clear();
  wires.clear();
  pending.clear();
}

GradientBucketer::GradientBucketer(std::vector<Variable> variables, BucketOptions options)
    : impl_(std::make_shared<Impl>()) {
  if (options.bucket_bytes <= 0) {
    throw InvalidArgument("[GradientBucketer] bucket_bytes must be > 0, got " + std::to_string(options.bucket_bytes));
  }
  impl_->context = detail::context("GradientBucketer");
  for (size_t i = 0; i < variables.size(); ++i) {
    if (!variables[i].defined()) throw InvalidArgument("[GradientBucketer] variable " + std::to_string(i) + " is an empty handle");
    if (!impl_->index_of.emplace(variables[i].id(), i).second) {
      throw InvalidArgument("[GradientBucketer] variable '" + variables[i].name() + "' is listed twice");
    }
  }
  impl_->variables = std::move(variables);
  impl_->options = options;
  impl_->bucket_of.resize(impl_->variables.size());
  impl_->plan();
}

GradientBucketer::~GradientBucketer() { impl_->drain(); }

void GradientBucketer::watch(GradientTape& tape) {
  if (impl_->running) {
    throw InvalidArgument("[GradientBucketer.watch] a step is running already: finish() it first");
  }
  impl_->start_step();
  tape.set_gradient_ready_hook([impl = impl_](const Tensor& source, const Tensor& gradient) {
    const auto it = impl->index_of.find(source.id());
    if (it != impl->index_of.end() && impl->running && !impl->handed[it->second]) impl->add(it->second, gradient);
  });
}

void GradientBucketer::add(size_t index, const Tensor& gradient) { impl_->add(index, gradient); }

std::vector<Tensor> GradientBucketer::finish() { return impl_->finish(); }

std::vector<Tensor> GradientBucketer::average(const std::vector<Tensor>& gradients) {
  if (gradients.size() != impl_->variables.size()) {
    throw InvalidArgument("[GradientBucketer.average] got " + std::to_string(gradients.size()) + " gradients for " +
                          std::to_string(impl_->variables.size()) + " variables");
  }
  if (impl_->running) throw InvalidArgument("[GradientBucketer.average] a step is running already: finish() it first");
  for (size_t k = gradients.size(); k-- > 0;) impl_->add(k, gradients[k]);  // in the order buckets fill
  return impl_->finish();
}

bool GradientBucketer::in_progress() const { return impl_->running; }
size_t GradientBucketer::bucket_count() const { return impl_->buckets.size(); }

std::vector<size_t> GradientBucketer::bucket_members(size_t bucket) const {
  if (bucket >= impl_->buckets.size()) {
    throw InvalidArgument("[GradientBucketer.bucket_members] bucket " + std::to_string(bucket) + " is out of range (" +
                          std::to_string(impl_->buckets.size()) + " buckets)");
  }
  return impl_->buckets[bucket].members;
}

BucketStats GradientBucketer::last_stats() const { return impl_->stats; }

}  // namespace loom::dist
