#pragma once
#include <stdexcept>
#include <string>

#include "loom/export.hpp"

namespace loom {

// Error categories; the numeric values are also the C ABI status codes (append only).
enum class ErrorCode : int {
  Ok = 0,
  InvalidArgument = 1,
  Shape = 2,
  DType = 3,
  Device = 4,
  OutOfMemory = 5,
  IO = 6,
  NotFound = 7,
  Unimplemented = 8,
  Internal = 9,
};

LOOM_API const char* error_code_name(ErrorCode code);

// Base of every exception loom throws. Messages start with the op or function in brackets:
// "[reshape] cannot reshape (2, 3) into (4, -1)".
class LOOM_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

#define LOOM_DECLARE_ERROR(Name, Code)                                       \
  class LOOM_API Name : public Error {                                       \
   public:                                                                   \
    explicit Name(const std::string& message) : Error(ErrorCode::Code, message) {} \
  };

LOOM_DECLARE_ERROR(InvalidArgument, InvalidArgument)
LOOM_DECLARE_ERROR(ShapeError, Shape)
LOOM_DECLARE_ERROR(DTypeError, DType)
LOOM_DECLARE_ERROR(DeviceError, Device)
LOOM_DECLARE_ERROR(OutOfMemoryError, OutOfMemory)
LOOM_DECLARE_ERROR(IOError, IO)
LOOM_DECLARE_ERROR(NotFoundError, NotFound)
LOOM_DECLARE_ERROR(UnimplementedError, Unimplemented)
LOOM_DECLARE_ERROR(InternalError, Internal)

#undef LOOM_DECLARE_ERROR

// Throws the exception class that matches `code`.
[[noreturn]] LOOM_API void throw_error(ErrorCode code, const std::string& message);

}  // namespace loom
