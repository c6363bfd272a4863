#include "interop/onnx_proto.hpp"

#include <cstring>
#include <limits>

#include "io/files.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"

namespace loom::interop {
namespace {

using onnx::TensorProto;

[[noreturn]] void bad_tensor(const std::string& context, const std::string& why) {
  throw IOError(context + ": " + why);
}


// Values of a typed field, narrowed to the dtype's bytes (int32_data holds 8- and 16-bit types
// too, one value per entry).
template <class Field>
std::vector<char> narrowed(const Field& values, DType dtype) {
  std::vector<char> bytes(static_cast<size_t>(values.size()) * dtype_size(dtype));
  for (int i = 0; i < values.size(); ++i) {
    char* at = bytes.data() + static_cast<size_t>(i) * dtype_size(dtype);
    const auto v = values.Get(i);
    switch (dtype) {
      case DType::Float32: { const float f = static_cast<float>(v); std::memcpy(at, &f, 4); break; }
      case DType::Float64: { const double d = static_cast<double>(v); std::memcpy(at, &d, 8); break; }
      case DType::Int32: { const int32_t x = static_cast<int32_t>(v); std::memcpy(at, &x, 4); break; }
      case DType::Int64: { const int64_t x = static_cast<int64_t>(v); std::memcpy(at, &x, 8); break; }
      case DType::Bool: *at = v != 0 ? 1 : 0; break;
      case DType::UInt8: *at = static_cast<char>(static_cast<uint8_t>(v)); break;
      case DType::Float16:
      case DType::BFloat16: { const uint16_t bits = static_cast<uint16_t>(v); std::memcpy(at, &bits, 2); break; }
    }
  }
  return bytes;
}

}  // namespace

DType dtype_of_onnx(int32_t type, const std::string& context) {
  switch (type) {
    case TensorProto::FLOAT: return DType::Float32;
    case TensorProto::DOUBLE: return DType::Float64;
    case TensorProto::INT32: return DType::Int32;
    case TensorProto::INT64: return DType::Int64;
    case TensorProto::BOOL: return DType::Bool;
    case TensorProto::UINT8: return DType::UInt8;
    case TensorProto::FLOAT16: return DType::Float16;
    case TensorProto::BFLOAT16: return DType::BFloat16;
    default: break;
  }
  const std::string name = TensorProto::DataType_IsValid(type) ? TensorProto::DataType_Name(type) : std::to_string(type);
  throw DTypeError(context + " has element type " + name +
                   ", which loom has no dtype for (it takes FLOAT, DOUBLE, INT32, INT64, BOOL, UINT8, FLOAT16, BFLOAT16)");
}

onnx::ModelProto read_onnx_file(const std::string& path, const char* op) {
  const std::vector<char> bytes = io::read_file(path, op);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw IOError(std::string("[") + op + "] '" + path + "' is larger than the 2 GB an ONNX file can be");
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw IOError(std::string("[") + op + "] '" + path + "' is not an ONNX model: its protobuf is truncated or malformed");
  }
  return model;
}

void write_onnx_file(const onnx::ModelProto& model, const std::string& path, const char* op) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw IOError(std::string("[") + op + "] cannot serialize the model for '" + path + "' (larger than 2 GB?)");
  }
  io::write_file_atomically(path, std::vector<char>(bytes.begin(), bytes.end()), op);
}

int32_t onnx_type_of(DType dtype) {
  switch (dtype) {
    case DType::Float32: return TensorProto::FLOAT;
    case DType::Float64: return TensorProto::DOUBLE;
    case DType::Int32: return TensorProto::INT32;
    case DType::Int64: return TensorProto::INT64;
    case DType::Bool: return TensorProto::BOOL;
    case DType::UInt8: return TensorProto::UINT8;
    case DType::Float16: return TensorProto::FLOAT16;
    case DType::BFloat16: return TensorProto::BFLOAT16;
  }
  return TensorProto::UNDEFINED;
}

void to_tensor_proto(const Tensor& t, const std::string& name, onnx::TensorProto& proto) {
  proto.set_name(name);
  proto.set_data_type(onnx_type_of(t.dtype()));
  for (int64_t d : t.shape()) proto.add_dims(d);
  std::string* raw = proto.mutable_raw_data();
  raw->resize(t.nbytes());
  if (!raw->empty()) t.copy_to_host(raw->data(), raw->size());
}

Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& context) {
  if (proto.data_location() == TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    bad_tensor(context, "its data lives in an external file, which import_onnx does not read");
  }
  if (proto.has_segment()) bad_tensor(context, "it is a segment of a tensor, which import_onnx does not read");
  const DType dtype = dtype_of_onnx(proto.data_type(), context);
  Shape shape;
  uint64_t count = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0 || (d > 0 && count > (uint64_t{1} << 48) / static_cast<uint64_t>(d))) {
      bad_tensor(context, "it has an impossible dimension " + std::to_string(d));
    }
    count *= static_cast<uint64_t>(d);
    shape.push_back(d);
  }
  std::vector<char> bytes;
  if (proto.has_raw_data()) {
    bytes.assign(proto.raw_data().begin(), proto.raw_data().end());
  } else if (dtype == DType::Float32) {
    bytes = narrowed(proto.float_data(), dtype);
  } else if (dtype == DType::Float64) {
    bytes = narrowed(proto.double_data(), dtype);
  } else if (dtype == DType::Int64) {
    bytes = narrowed(proto.int64_data(), dtype);
  } else {
    bytes = narrowed(proto.int32_data(), dtype);
  }
  if (bytes.size() != count * dtype_size(dtype)) {
    bad_tensor(context, "it holds " + std::to_string(bytes.size()) + " bytes of data for shape " + shape.str() + " of " +
                            dtype_name(dtype) + " (" + std::to_string(count * dtype_size(dtype)) + " bytes)");
  }
  return from_host(bytes.data(), bytes.size(), shape, dtype);
}

}  // namespace loom::interop
