#pragma once
// ONNX files and tensors through Debian's libonnx (the protobuf classes of onnx.proto): reading
// and writing model files, and tensors to and from TensorProto.
#include <onnx/onnx_pb.h>

#include <string>

#include "core/internal_api.hpp"
#include "loom/tensor.hpp"

namespace loom::interop {

// The model a file holds; IOError naming the file when it cannot be read or parsed.
LOOM_INTERNAL_API onnx::ModelProto read_onnx_file(const std::string& path, const char* op);
// Writes the model atomically; IOError naming the file.
LOOM_INTERNAL_API void write_onnx_file(const onnx::ModelProto& model, const std::string& path, const char* op);

// The dtype of ONNX's element type (TensorProto::DataType); DTypeError starting with `context`
// (the function, the file and the value: "[import_onnx] 'm.onnx': input 'x'") for one loom has
// no dtype for.
LOOM_INTERNAL_API DType dtype_of_onnx(int32_t type, const std::string& context);
// ONNX's element type for a dtype (TensorProto::DataType).
LOOM_INTERNAL_API int32_t onnx_type_of(DType dtype);
// Sets `proto` to `name` and the values of `t` (as raw little-endian data).
LOOM_INTERNAL_API void to_tensor_proto(const Tensor& t, const std::string& name, onnx::TensorProto& proto);
// The tensor a TensorProto holds. IOError starting with `context` (as above) for data that does not fit its
// shape or lives outside the file; DTypeError for an element type loom has no dtype for.
LOOM_INTERNAL_API Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& context);

}  // namespace loom::interop
