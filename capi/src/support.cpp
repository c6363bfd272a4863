// Handle registry, per-thread last error and the argument checks shared by the entry points.
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "errors.hpp"
#include "handles.hpp"

namespace loom::capi {
namespace {

struct LastError {
  loom_status code = LOOM_OK;
  std::string message;
  uint64_t sequence = 0;  // failures recorded on this thread so far
};
LastError& last_error() {
  thread_local LastError error;
  return error;
}

struct Registry {
  std::shared_mutex mutex;
  std::unordered_map<const void*, HandleKind> live;
};
Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: handles may be released at exit
  return *r;
}

}  // namespace

loom_status record_failure(const char* function, loom_status code, const char* message) noexcept {
  try {
    LastError& e = last_error();
    e.code = code;
    ++e.sequence;
    e.message = std::string(function) + ": " + message;
  } catch (...) {  // no memory for the message: the code still gets through
  }
  return code;
}

uint64_t failure_count() noexcept { return last_error().sequence; }

const char* handle_kind_name(HandleKind kind) {
  switch (kind) {
    case HandleKind::Tensor: return "tensor";
    case HandleKind::Attrs: return "attrs";
    case HandleKind::Variable: return "variable";
    case HandleKind::Tape: return "tape";
    case HandleKind::Layer: return "layer";
    case HandleKind::Model: return "model";
    case HandleKind::Optimizer: return "optimizer";
    case HandleKind::Symbolic: return "symbolic tensor";
    case HandleKind::NamedTensors: return "named tensors";
    case HandleKind::DistOptimizer: return "distributed optimizer";
  }
  return "handle";
}

void register_handle(const void* handle, HandleKind kind) {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  r.live[handle] = kind;
}

bool unregister_handle(const void* handle, HandleKind kind) {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  const auto it = r.live.find(handle);
  if (it == r.live.end() || it->second != kind) return false;
  r.live.erase(it);
  return true;
}

void check_handle(const void* handle, HandleKind kind, const char* argument) {
  if (handle == nullptr) throw InvalidArgument(std::string(argument) + " is NULL");
  Registry& r = registry();
  std::shared_lock lock(r.mutex);
  const auto it = r.live.find(handle);
  if (it == r.live.end()) {
    throw InvalidArgument(std::string(argument) + " is not a live " + handle_kind_name(kind) +
                          " handle (released already, or never created by loom)");
  }
  if (it->second != kind) {
    throw InvalidArgument(std::string(argument) + " is a " + handle_kind_name(it->second) + " handle, not a " +
                          handle_kind_name(kind));
  }
}

void report_stale_release(const char* function, HandleKind kind) {
  record_failure(function, LOOM_ERROR_INVALID_ARGUMENT,
                 (std::string("not a live ") + handle_kind_name(kind) + " handle (released twice?); ignored").c_str());
}

void require(bool condition, const std::string& message) {
  if (!condition) throw InvalidArgument(message);
}

const char* string_arg(const char* text, const char* argument) {
  require(text != nullptr, std::string(argument) + " is NULL");
  return text;
}

DType dtype_arg(int32_t dtype) {
  if (!dtype_is_valid(dtype)) {
    throw DTypeError("unknown dtype " + std::to_string(dtype) + " (LOOM_F32 = 0 ... LOOM_BF16 = 7)");
  }
  return static_cast<DType>(dtype);
}

void count_arg(const void* array, int32_t count, const char* array_name, const char* count_name) {
  require(count >= 0, std::string(count_name) + " must be >= 0, got " + std::to_string(count));
  require(count == 0 || array != nullptr,
          std::string(array_name) + " is NULL but " + count_name + " is " + std::to_string(count));
}

Shape shape_arg(const int64_t* dims, int32_t rank, const char* argument) {
  count_arg(dims, rank, argument, "rank");
  return Shape(dims, static_cast<size_t>(rank));
}

std::vector<int64_t> int_list(const int64_t* values, int32_t count, const char* argument) {
  count_arg(values, count, argument, "its count");
  return std::vector<int64_t>(values, values + count);
}

void copy_out(const std::string& text, char* buffer, size_t capacity) {
  require(buffer != nullptr, "buffer is NULL");
  require(capacity > text.size(), "a buffer of " + std::to_string(capacity) + " bytes cannot hold '" + text +
                                      "' (needs " + std::to_string(text.size() + 1) + ")");
  std::memcpy(buffer, text.c_str(), text.size() + 1);
}

}  // namespace loom::capi

using namespace loom::capi;

extern "C" {

LOOM_CAPI loom_status loom_last_error_code(void) { return last_error().code; }

LOOM_CAPI const char* loom_last_error_message(void) { return last_error().message.c_str(); }

LOOM_CAPI size_t loom_last_error_copy(char* buffer, size_t capacity) {
  const std::string& message = last_error().message;
  if (buffer != nullptr && capacity > 0) {
    const size_t n = std::min(capacity - 1, message.size());
    std::memcpy(buffer, message.data(), n);
    buffer[n] = '\0';
  }
  return message.size();
}

}  // extern "C"
