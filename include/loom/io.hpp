#pragma once
// Tensor files. Writes are atomic (a temporary file renamed over the target), so a failed or
// interrupted save never damages an existing file.
#include <map>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

// NumPy .npy (format 1.0/2.0, C order). float32/64, int32/64, bool, uint8 and float16 map to
// NumPy dtypes; bfloat16 has none and is an error. Loading accepts either byte order and
// Fortran order.
LOOM_API void save_npy(const std::string& path, const Tensor& tensor);
LOOM_API Tensor load_npy(const std::string& path);

// safetensors (https://github.com/huggingface/safetensors): named tensors plus string metadata,
// readable by other tools. Truncated or corrupt files are IOErrors, never crashes.
struct NamedTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};
LOOM_API void save_safetensors(const std::string& path, const NamedTensors& contents);
LOOM_API NamedTensors load_safetensors(const std::string& path);

}  // namespace loom
