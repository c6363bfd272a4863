#pragma once
#include <stdexcept>
#include <string>

#include "loom/export.hpp"

namespace loom {

/// Error categories; the numeric values are also the C ABI status codes (append only).
enum class ErrorCode : int {
  Ok = 0,               ///< No error (LOOM_OK).
  InvalidArgument = 1,  ///< A bad argument value: InvalidArgument.
  Shape = 2,            ///< Shapes that do not fit: ShapeError.
  DType = 3,            ///< An unsupported or mismatched dtype: DTypeError.
  Device = 4,           ///< A missing device or a device mismatch: DeviceError.
  OutOfMemory = 5,      ///< An allocation failed or hit a limit: OutOfMemoryError.
  IO = 6,               ///< A file could not be read or written, or is corrupt: IOError.
  NotFound = 7,         ///< An unknown op, layer type or name: NotFoundError.
  Unimplemented = 8,    ///< No kernel for this op on this device: UnimplementedError.
  Internal = 9,         ///< A bug in loom: InternalError.
  // 10 and 11 are the C ABI's own statuses (ABI mismatch, callback failure).
  Distributed = 12,     ///< A collective failed or timed out, or no communicator: DistributedError.
};

/// A short name of the category: "invalid argument", "shape error", ...
LOOM_API const char* error_code_name(ErrorCode code);

/// Base of every exception loom throws. Messages start with the op or function in brackets:
/// "[reshape] cannot reshape (2, 3) into (4, -1)".
class LOOM_API Error : public std::runtime_error {
 public:
  /// An error of category `code` with message `message` (what()).
  Error(ErrorCode code, const std::string& message);
  /// The category, which selects the subclass.
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

#define LOOM_DECLARE_ERROR(Name, Code)                                       \
  class LOOM_API Name : public Error {                                       \
   public:                                                                   \
    explicit Name(const std::string& message) : Error(ErrorCode::Code, message) {} \
  };

/// \class loom::InvalidArgument
/// A bad argument value (ErrorCode::InvalidArgument); derives from loom::Error.
LOOM_DECLARE_ERROR(InvalidArgument, InvalidArgument)
/// \class loom::ShapeError
/// Shapes that do not fit the op (ErrorCode::Shape); derives from loom::Error.
LOOM_DECLARE_ERROR(ShapeError, Shape)
/// \class loom::DTypeError
/// An unsupported or mismatched dtype (ErrorCode::DType); derives from loom::Error.
LOOM_DECLARE_ERROR(DTypeError, DType)
/// \class loom::DeviceError
/// A device that does not exist, or inputs on different devices (ErrorCode::Device); derives
/// from loom::Error.
LOOM_DECLARE_ERROR(DeviceError, Device)
/// \class loom::OutOfMemoryError
/// An allocation that failed or exceeded a memory limit (ErrorCode::OutOfMemory); derives from
/// loom::Error.
LOOM_DECLARE_ERROR(OutOfMemoryError, OutOfMemory)
/// \class loom::IOError
/// A file that cannot be read or written, or is truncated or corrupt (ErrorCode::IO); derives
/// from loom::Error.
LOOM_DECLARE_ERROR(IOError, IO)
/// \class loom::NotFoundError
/// An unknown op, layer type, optimizer or layer name (ErrorCode::NotFound); derives from
/// loom::Error.
LOOM_DECLARE_ERROR(NotFoundError, NotFound)
/// \class loom::UnimplementedError
/// An op without a kernel for the device (ErrorCode::Unimplemented); derives from loom::Error.
LOOM_DECLARE_ERROR(UnimplementedError, Unimplemented)
/// \class loom::InternalError
/// A broken invariant inside loom, a bug (ErrorCode::Internal); derives from loom::Error.
LOOM_DECLARE_ERROR(InternalError, Internal)

/// \class loom::DistributedError
/// A collective that failed or timed out, a communicator that is not initialised or broken, or
/// a peer that went away (ErrorCode::Distributed); derives from loom::Error.
LOOM_DECLARE_ERROR(DistributedError, Distributed)

#undef LOOM_DECLARE_ERROR

/// Throws the exception class that matches `code` (InternalError for Ok and Internal).
[[noreturn]] LOOM_API void throw_error(ErrorCode code, const std::string& message);

}  // namespace loom
