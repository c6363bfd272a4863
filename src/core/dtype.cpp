#include "loom/dtype.hpp"

#include <string>

#include "loom/error.hpp"

namespace loom {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "invalid";
}

bool dtype_is_valid(int32_t value) { return value >= 0 && value < kNumDTypes; }

DType dtype_from_name(std::string_view name, std::string_view context) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (name == dtype_name(static_cast<DType>(i))) return static_cast<DType>(i);
  }
  if (name == "float" || name == "half") return name == "float" ? DType::Float32 : DType::Float16;
  if (name == "double") return DType::Float64;
  throw InvalidArgument("[" + std::string(context) + "] unknown dtype '" + std::string(name) +
                        "' (expected float32, float64, int32, int64, bool, uint8, float16 or "
                        "bfloat16)");
}

}  // namespace loom
