// dist::init / finalize and the process's job context.
#include "dist/context.hpp"

#include <atomic>
#include <cstdlib>

#include "loom/error.hpp"

namespace loom::dist {
namespace detail {
namespace {

double timeout_from_environment() {
  const char* text = std::getenv("LOOM_DIST_TIMEOUT");
  if (!text) return 300.0;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  return end != text && seconds > 0 ? seconds : 300.0;
}

bool validation_from_environment() {
  const char* text = std::getenv("LOOM_DIST_VALIDATE");
  return text && std::string(text) == "1";
}

std::atomic<double> g_timeout{timeout_from_environment()};
std::atomic<bool> g_validation{validation_from_environment()};

std::mutex g_mutex;
std::shared_ptr<Context> g_context;  // guarded by g_mutex

bool is_failure(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const DistributedError&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Leaves the job: the communicators shut down on the communication thread. After a failure
// they do not wait for peers, and the thread (maybe stuck in the transport) is left behind with
// everything it may still touch.
void shut_down(const std::shared_ptr<Context>& context) {
  Context& c = *context;
  const bool clean = c.failure().empty();
  Communicator* gpu = c.gpu.get();
  Communicator* host = c.host.get();
  auto stop = [gpu, host, clean] {
    if (gpu) gpu->shutdown(clean);
    if (host) host->shutdown(clean);
  };
  if (clean) {
    try {
      c.worker->submit(stop).get();
    } catch (...) {  // nothing more to do: the job is over for this process
    }
    return;
  }
  c.worker->submit(stop);
  c.worker->abandon();
  new std::shared_ptr<Context>(context);  // deliberately never freed: queued jobs use it
}

void finalize_at_exit() { finalize(); }

}  // namespace

std::future<void> Context::launch(const char* function, std::function<void()> job) {
  if (const std::string first = failure(); !first.empty()) {
    throw DistributedError(std::string("[") + function +
                           "] the communicator failed earlier and cannot be used any more: " + first);
  }
  return worker->submit([this, job = std::move(job)] {
    try {
      job();
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      if (is_failure(error)) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure_.empty()) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            failure_ = e.what();
          }
        }
      }
      throw;
    }
  });
}

void Context::run(const char* function, std::function<void()> job) { launch(function, std::move(job)).get(); }

std::string Context::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

std::shared_ptr<Context> context(const char* function) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_context) {
    throw DistributedError(std::string("[") + function +
                           "] loom::dist is not initialised: call dist::init(\"mpi\") (or \"nccl\") first");
  }
  return g_context;
}

double timeout_seconds() { return g_timeout.load(); }
bool validating() { return g_validation.load(); }

}  // namespace detail

Communicator::~Communicator() = default;

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "invalid";
}

void init(const std::string& backend) {
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  if (detail::g_context) {
    if (detail::g_context->backend == backend) return;
    throw InvalidArgument("[dist.init] already initialised with backend '" + detail::g_context->backend +
                          "'; finalize() before asking for '" + backend + "'");
  }
  if (backend != "mpi" && backend != "nccl") {
    throw InvalidArgument("[dist.init] unknown backend '" + backend + "' (mpi, nccl)");
  }
  auto c = std::make_shared<detail::Context>();
  c->backend = backend;
  c->worker = std::make_unique<detail::Worker>();
  // MPI starts on the communication thread, which makes every later MPI call.
  try {
    c->worker->submit([&c] {
      c->host = detail::create_communicator("mpi", CommunicatorSetup{});
      if (c->backend == "nccl") {
        CommunicatorSetup setup;
        setup.bootstrap = c->host.get();
        setup.device_index = c->host->local_rank();
        setup.timeout_seconds = detail::timeout_seconds();
        c->gpu = detail::create_communicator("nccl", setup);
      }
    }).get();
  } catch (...) {
    // MPI came up but NCCL did not (no GPU, say): leave MPI cleanly, or the launcher reports the
    // process as ended without MPI_Finalize. Every rank whose init fails does the same, so their
    // MPI_Finalize calls meet; a rank that died instead makes the launcher end the job. When MPI
    // itself failed to start, its objects are left alone.
    if (c->host) c->worker->submit([&c] { c->host->shutdown(true); }).get();
    throw;
  }
  c->rank = c->host->rank();
  c->size = c->host->size();
  c->local_rank = c->host->local_rank();
  detail::g_context = std::move(c);
  static const bool registered = std::atexit(detail::finalize_at_exit) == 0;
  (void)registered;
}

void finalize() {
  std::shared_ptr<detail::Context> c;
  {
    std::lock_guard<std::mutex> lock(detail::g_mutex);
    c = std::move(detail::g_context);
  }
  if (c) detail::shut_down(c);
}

bool initialized() {
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  return detail::g_context != nullptr;
}

std::string backend() { return detail::context("dist.backend")->backend; }
int rank() { return detail::context("dist.rank")->rank; }
int size() { return detail::context("dist.size")->size; }
int local_rank() { return detail::context("dist.local_rank")->local_rank; }

void set_timeout(double seconds) {
  if (!(seconds > 0)) throw InvalidArgument("[dist.set_timeout] the timeout must be > 0 seconds, got " + std::to_string(seconds));
  detail::g_timeout.store(seconds);
}
double timeout() { return detail::g_timeout.load(); }
void set_validation(bool enabled) { detail::g_validation.store(enabled); }
bool validation() { return detail::g_validation.load(); }

}  // namespace loom::dist
