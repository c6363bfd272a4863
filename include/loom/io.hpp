#pragma once
// Tensor files. Writes are atomic (a temporary file renamed over the target), so a failed or
// interrupted save never damages an existing file.
#include <map>
#include <string>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

namespace loom {

/// Saves a tensor as NumPy .npy (format 1.0/2.0, C order), atomically.
///
/// float32/64, int32/64, bool, uint8 and float16 map to NumPy dtypes; bfloat16 has none and is
/// a DTypeError. Write failures are IOErrors.
LOOM_API void save_npy(const std::string& path, const Tensor& tensor);
/// Loads a .npy file (onto the DeviceScope's device, else the CPU). Either byte order and
/// Fortran order are accepted; an unsupported NumPy dtype is a DTypeError, a missing,
/// truncated or malformed file an IOError.
LOOM_API Tensor load_npy(const std::string& path);

/// The contents of a safetensors file (https://github.com/huggingface/safetensors): named
/// tensors plus string metadata, readable by other tools.
struct NamedTensors {
  std::map<std::string, Tensor> tensors;        ///< Tensors by name (`__metadata__` is reserved).
  std::map<std::string, std::string> metadata;  ///< Free-form string metadata.
};
/// Saves named tensors and metadata as safetensors, atomically (every dtype is supported).
/// InvalidArgument for an undefined tensor or the reserved name.
LOOM_API void save_safetensors(const std::string& path, const NamedTensors& contents);
/// Loads a safetensors file (onto the DeviceScope's device, else the CPU). Truncated or corrupt
/// files are IOErrors, never crashes; an unsupported dtype is a DTypeError.
LOOM_API NamedTensors load_safetensors(const std::string& path);

}  // namespace loom
