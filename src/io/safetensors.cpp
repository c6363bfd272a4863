// safetensors: 8-byte little-endian header size, a JSON header, then the raw little-endian data.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>
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

namespace {

// The reference implementation's bound on the JSON header (100 MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

DType dtype_of(const nlohmann::json& code, const std::string& path, const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (code == code_of(static_cast<DType>(i))) return static_cast<DType>(i);
  }
  throw DTypeError("[load_safetensors] '" + path + "': tensor '" + name + "' has unsupported dtype " + code.dump());
}

Entry parse_entry(const std::string& name, const nlohmann::json& entry, const std::string& path) {
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
      !entry["dtype"].is_string() || !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
      entry["data_offsets"].size() != 2) {
    corrupt(path, "entry '" + name + "' lacks dtype, shape or data_offsets");
  }
  Entry e{name, dtype_of(entry["dtype"], path, name), {}, 0, 0};
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) corrupt(path, "tensor '" + name + "' has a bad shape " + entry["shape"].dump());
    e.shape.push_back(d.get<int64_t>());
  }
  const auto& offsets = entry["data_offsets"];
  if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) corrupt(path, "tensor '" + name + "' has bad data_offsets " + offsets.dump());
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  size_t nbytes = 0;
  try {
    nbytes = tensor_nbytes(e.shape, e.dtype, "load_safetensors");
  } catch (const ShapeError& err) {
    corrupt(path, "tensor '" + name + "': " + err.what());
  }
  if (e.begin > e.end || e.end - e.begin != nbytes) {
    corrupt(path, "tensor '" + name + "' spans bytes [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                      ") but shape " + e.shape.str() + " of " + dtype_name(e.dtype) + " needs " + std::to_string(nbytes));
  }
  return e;
}

// The header as JSON; a name given twice is refused (a JSON object would keep only one).
nlohmann::json parse_header(const char* first, const char* last, const std::string& path) {
  if (first == last || *first != '{') corrupt(path, "the header does not start with '{'");
  std::set<std::string> names;
  std::string duplicate;
  auto note_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(first, last, note_keys);
  } catch (const nlohmann::json::exception& e) {
    corrupt(path, std::string("header is not JSON (") + e.what() + ")");
  }
  if (!duplicate.empty()) corrupt(path, "the header names '" + duplicate + "' twice");
  return header;  // an object: it starts with '{' and parsed
}

}  // namespace

NamedTensors load_safetensors(const std::string& path) {
  const std::vector<char> bytes = io::read_file(path, "load_safetensors");
  if (bytes.size() < 8) corrupt(path, "shorter than its 8-byte header size");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > kMaxHeaderBytes) corrupt(path, "header size " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
  if (n > bytes.size() - 8) corrupt(path, "header size " + std::to_string(n) + " exceeds the file");
  const nlohmann::json header = parse_header(bytes.data() + 8, bytes.data() + 8 + n, path);
  const char* data = bytes.data() + 8 + n;
  const uint64_t data_size = bytes.size() - 8 - n;
  NamedTensors out;
  std::vector<Entry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name != "__metadata__") {
      entries.push_back(parse_entry(name, entry, path));
      continue;
    }
    if (!entry.is_object()) corrupt(path, "__metadata__ is not an object");
    for (const auto& [k, v] : entry.items()) {
      if (!v.is_string()) corrupt(path, "metadata '" + k + "' is not a string");
      out.metadata[k] = v.get<std::string>();
    }
  }
  // The tensors tile the data buffer: in offset order, each starts where the last ended, and
  // the last ends where the file does.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin != covered) {
      corrupt(path, "tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) + " of the data, expected " +
                        std::to_string(covered) + (e.begin < covered ? " (it overlaps another tensor)" : " (a gap)"));
    }
    if (e.end > data_size) {
      corrupt(path, "tensor '" + e.name + "' spans bytes [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                        ") beyond the " + std::to_string(data_size) + " data bytes (truncated?)");
    }
    covered = e.end;
  }
  if (covered != data_size) {
    corrupt(path, std::to_string(data_size - covered) + " bytes after the last tensor belong to no tensor");
  }
  for (const Entry& e : entries) {
    out.tensors[e.name] = from_host(data + e.begin, static_cast<size_t>(e.end - e.begin), e.shape, e.dtype);
  }
  return out;
}

}  // namespace loom
