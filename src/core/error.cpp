#include "loom/error.hpp"

namespace loom {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok: return "ok";
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::Shape: return "shape error";
    case ErrorCode::DType: return "dtype error";
    case ErrorCode::Device: return "device error";
    case ErrorCode::OutOfMemory: return "out of memory";
    case ErrorCode::IO: return "I/O error";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::Unimplemented: return "unimplemented";
    case ErrorCode::Internal: return "internal error";
    case ErrorCode::Distributed: return "distributed error";
  }
  return "unknown error";
}

Error::Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

void throw_error(ErrorCode code, const std::string& message) {
  switch (code) {
    case ErrorCode::InvalidArgument: throw InvalidArgument(message);
    case ErrorCode::Shape: throw ShapeError(message);
    case ErrorCode::DType: throw DTypeError(message);
    case ErrorCode::Device: throw DeviceError(message);
    case ErrorCode::OutOfMemory: throw OutOfMemoryError(message);
    case ErrorCode::IO: throw IOError(message);
    case ErrorCode::NotFound: throw NotFoundError(message);
    case ErrorCode::Unimplemented: throw UnimplementedError(message);
    case ErrorCode::Distributed: throw DistributedError(message);
    case ErrorCode::Ok:
    case ErrorCode::Internal: break;
  }
  throw InternalError(message);
}

}  // namespace loom
