#pragma once
// Every entry point runs its body through guarded(): exceptions become a status code and a
// per-thread message "loom_fn: [op] what went wrong"; nothing escapes into the caller.
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "loom/dtype.hpp"
#include "loom/error.hpp"
#include "loom/loom.h"
#include "loom/shape.hpp"

namespace loom::capi {

// Failures with a C-only status (ABI mismatch, a callback that failed).
class Failure : public std::exception {
 public:
  Failure(loom_status code, std::string message) : code_(code), message_(std::move(message)) {}
  loom_status code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  loom_status code_;
  std::string message_;
};

loom_status record_failure(const char* function, loom_status code, const char* message) noexcept;
// How many failures this thread has recorded: a callback that fails after one was recorded
// during it reported why.
uint64_t failure_count() noexcept;

template <class Body>
loom_status guarded(const char* function, Body&& body) noexcept {
  try {
    body();
    return LOOM_OK;
  } catch (const Error& e) {
    return record_failure(function, static_cast<loom_status>(e.code()), e.what());
  } catch (const Failure& e) {
    return record_failure(function, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return record_failure(function, LOOM_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return record_failure(function, LOOM_ERROR_INTERNAL, e.what());
  } catch (...) {
    return record_failure(function, LOOM_ERROR_INTERNAL, "unknown exception");
  }
}

// Argument checks; each throws InvalidArgument (or DTypeError) naming the argument.
void require(bool condition, const std::string& message);
template <class T>
T*& out_param(T** out, const char* argument) {
  require(out != nullptr, std::string(argument) + " is NULL");
  *out = nullptr;  // on failure the caller owns nothing
  return *out;
}
template <class T>
T& value_out(T* out, const char* argument) {
  require(out != nullptr, std::string(argument) + " is NULL");
  return *out;
}
const char* string_arg(const char* text, const char* argument);
DType dtype_arg(int32_t dtype);
Shape shape_arg(const int64_t* dims, int32_t rank, const char* argument = "dims");
// A count with its array: count >= 0 and array non-NULL when count > 0.
void count_arg(const void* array, int32_t count, const char* array_name, const char* count_name);
std::vector<int64_t> int_list(const int64_t* values, int32_t count, const char* argument);
// Copies `text` with its NUL into a caller buffer; too small is an error naming the need.
void copy_out(const std::string& text, char* buffer, size_t capacity);

}  // namespace loom::capi
