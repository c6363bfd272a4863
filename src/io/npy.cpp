// NumPy .npy reading and writing.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/files.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/io.hpp"
#include "loom/ops.hpp"

namespace loom {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

const char* npy_type(DType d) {
  switch (d) {
    case DType::Float32: return "f4";
    case DType::Float64: return "f8";
    case DType::Int32: return "i4";
    case DType::Int64: return "i8";
    case DType::Bool: return "b1";
    case DType::UInt8: return "u1";
    case DType::Float16: return "f2";
    case DType::BFloat16: return nullptr;
  }
  return nullptr;
}

[[noreturn]] void malformed(const std::string& path, const std::string& why) {
  throw IOError("[load_npy] '" + path + "' is not a valid .npy file: " + why);
}

// Value of `key` in the header dict, as the raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string quoted1 = "'" + key + "'", quoted2 = "\"" + key + "\"";
  size_t at = header.find(quoted1);
  if (at == std::string::npos) at = header.find(quoted2);
  if (at == std::string::npos) malformed(path, "header has no '" + key + "'");
  size_t colon = header.find(':', at + key.size() + 2);
  if (colon == std::string::npos) malformed(path, "header entry '" + key + "' has no value");
  size_t begin = colon + 1;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  if (depth != 0 || end >= header.size()) malformed(path, "header entry '" + key + "' is cut off");
  std::string v = header.substr(begin, end - begin);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

Shape parse_shape(const std::string& text, const std::string& path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') malformed(path, "bad shape " + text);
  Shape shape;
  std::string num;
  auto flush = [&] {
    if (num.empty()) return;
    if (num.size() > 18) malformed(path, "dimension too large in shape " + text);
    shape.push_back(std::stoll(num));
    num.clear();
  };
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      num += c;
    } else if (c == ',' || c == ' ' || c == 'L') {
      flush();
    } else {
      malformed(path, "bad shape " + text);
    }
  }
  flush();
  if (shape.size() > 64) malformed(path, "too many dimensions");
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d > 0 && total > (int64_t{1} << 50) / d) malformed(path, "shape " + shape.str() + " is too large");
    total *= d;
  }
  return shape;
}

}  // namespace

void save_npy(const std::string& path, const Tensor& tensor) {
  if (!tensor.defined()) throw InvalidArgument("[save_npy] the tensor handle is empty");
  const char* type = npy_type(tensor.dtype());
  if (!type) {
    throw DTypeError("[save_npy] " + std::string(dtype_name(tensor.dtype())) +
                     " has no NumPy dtype; cast to float32 before saving '" + path + "'");
  }
  const bool single_byte = dtype_size(tensor.dtype()) == 1;
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    shape += std::to_string(tensor.shape()[i]) + (tensor.rank() == 1 ? "," : (i + 1 < tensor.shape().size() ? ", " : ""));
  }
  shape += ")";
  std::string header = std::string("{'descr': '") + (single_byte ? "|" : "<") + type +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes; end with a newline.
  const size_t prefix = 6 + 2 + 2;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<char> bytes(prefix + header.size() + tensor.nbytes());
  std::memcpy(bytes.data(), kMagic, 6);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes[8] = static_cast<char>(header.size() & 0xff);
  bytes[9] = static_cast<char>((header.size() >> 8) & 0xff);
  std::memcpy(bytes.data() + prefix, header.data(), header.size());
  tensor.copy_to_host(bytes.data() + prefix + header.size(), tensor.nbytes());
  io::write_file_atomically(path, bytes, "save_npy");
}

Tensor load_npy(const std::string& path) {
  const std::vector<char> bytes = io::read_file(path, "load_npy");
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) malformed(path, "bad magic");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, prefix;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) malformed(path, "header cut off");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    prefix = 12;
  } else {
    malformed(path, "unsupported format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - prefix) malformed(path, "header cut off");
  const std::string header(bytes.data() + prefix, header_len);

  std::string descr = dict_value(header, "descr", path);
  if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front()) {
    malformed(path, "bad descr " + descr);
  }
  descr = descr.substr(1, descr.size() - 2);
  const char order = descr[0];
  const std::string type = descr.substr(1);
  DType dtype = DType::Float32;
  bool known = false;
  for (int i = 0; i < kNumDTypes; ++i) {
    const char* t = npy_type(static_cast<DType>(i));
    if (t && type == t) {
      dtype = static_cast<DType>(i);
      known = true;
    }
  }
  if (!known || (order != '<' && order != '>' && order != '|' && order != '=')) {
    throw DTypeError("[load_npy] '" + path + "' holds NumPy dtype '" + descr +
                     "', which loom does not support (float32/64, int32/64, bool, uint8, float16)");
  }
  const std::string fortran = dict_value(header, "fortran_order", path);
  if (fortran != "False" && fortran != "True") malformed(path, "bad fortran_order " + fortran);
  const Shape shape = parse_shape(dict_value(header, "shape", path), path);

  const size_t esize = dtype_size(dtype);
  const size_t need = tensor_nbytes(shape, dtype, "load_npy");  // parse_shape bounds it
  const size_t have = bytes.size() - prefix - header_len;
  if (have < need) {
    throw IOError("[load_npy] '" + path + "' is truncated: shape " + shape.str() + " needs " +
                  std::to_string(need) + " bytes of data, the file has " + std::to_string(have));
  }
  std::vector<char> data(bytes.begin() + static_cast<std::ptrdiff_t>(prefix + header_len),
                         bytes.begin() + static_cast<std::ptrdiff_t>(prefix + header_len + need));
  if (order == '>' && esize > 1) {
    for (size_t i = 0; i < data.size(); i += esize) std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i), data.begin() + static_cast<std::ptrdiff_t>(i + esize));
  }
  if (dtype == DType::Bool) {
    for (char& c : data) c = c != 0;
  }
  if (fortran == "True" && shape.rank() > 1) {
    std::vector<int64_t> rev(shape.begin(), shape.end());
    std::reverse(rev.begin(), rev.end());
    const Tensor column_major = from_host(data.data(), data.size(), Shape(rev), dtype);
    return transpose(column_major).contiguous();
  }
  return from_host(data.data(), data.size(), shape, dtype);
}

}  // namespace loom
