// safetensors: 8-byte little-endian header size, a JSON header, then the raw little-endian data.
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/files.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/io.hpp"

namespace loom {
namespace {

const char* code_of(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
    case DType::UInt8: return "U8";
    case DType::Float16: return "F16";
    case DType::BFloat16: return "BF16";
  }
  return "?";
}

[[noreturn]] void corrupt(const std::string& path, const std::string& why) {
  throw IOError("[load_safetensors] '" + path + "' is not a valid safetensors file: " + why);
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& contents) {
  nlohmann::json header = nlohmann::json::object();
  if (!contents.metadata.empty()) header["__metadata__"] = contents.metadata;
  size_t offset = 0;
  for (const auto& [name, t] : contents.tensors) {
    if (!t.defined()) throw InvalidArgument("[save_safetensors] tensor '" + name + "' is an empty handle");
    if (name == "__metadata__") throw InvalidArgument("[save_safetensors] '__metadata__' is reserved");
    header[name] = {{"dtype", code_of(t.dtype())}, {"shape", t.shape().vec()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<char> bytes(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::memcpy(bytes.data() + 8, text.data(), text.size());
  char* data = bytes.data() + 8 + text.size();
  for (const auto& [name, t] : contents.tensors) {
    const auto& range = header[name]["data_offsets"];
    t.copy_to_host(data + range[0].get<size_t>(), t.nbytes());
  }
  io::write_file_atomically(path, bytes, "save_safetensors");
}

NamedTensors load_safetensors(const std::string& path) {
  const std::vector<char> bytes = io::read_file(path, "load_safetensors");
  if (bytes.size() < 8) corrupt(path, "shorter than its 8-byte header size");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > bytes.size() - 8) corrupt(path, "header size " + std::to_string(n) + " exceeds the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    corrupt(path, std::string("header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) corrupt(path, "header is not a JSON object");
  const char* data = bytes.data() + 8 + n;
  const size_t data_size = bytes.size() - 8 - n;
  NamedTensors out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) corrupt(path, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) corrupt(path, "metadata '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
        !entry["dtype"].is_string() || !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      corrupt(path, "entry '" + name + "' lacks dtype, shape or data_offsets");
    }
    DType dtype = DType::Float32;
    bool known = false;
    for (int i = 0; i < kNumDTypes; ++i) {
      if (entry["dtype"] == code_of(static_cast<DType>(i))) {
        dtype = static_cast<DType>(i);
        known = true;
      }
    }
    if (!known) throw DTypeError("[load_safetensors] '" + path + "': tensor '" + name + "' has unsupported dtype " + entry["dtype"].dump());
    Shape shape;
    uint64_t count = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 40)) corrupt(path, "tensor '" + name + "' has a bad shape");
      shape.push_back(d.get<int64_t>());
      count *= d.get<uint64_t>();
      if (count > (uint64_t{1} << 40)) corrupt(path, "tensor '" + name + "' is too large");
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) corrupt(path, "tensor '" + name + "' has bad offsets");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      corrupt(path, "tensor '" + name + "' spans bytes [" + std::to_string(begin) + ", " + std::to_string(end) +
                        ") beyond the " + std::to_string(data_size) + " data bytes (truncated?)");
    }
    if (end - begin != count * dtype_size(dtype)) {
      corrupt(path, "tensor '" + name + "' has " + std::to_string(end - begin) + " bytes for shape " + shape.str());
    }
    out.tensors[name] = from_host(data + begin, static_cast<size_t>(end - begin), shape, dtype);
  }
  return out;
}

}  // namespace loom
