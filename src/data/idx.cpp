// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), plain or gzip.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "io/files.hpp"
#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::data {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  throw IOError("[read_idx] '" + path + "' is not a valid IDX file: " + why);
}

// Reads through zlib, which decompresses gzip and passes plain files through unchanged.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    io::check_readable(path, "read_idx");
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw IOError("[read_idx] cannot open '" + path + "'");
  }
  ~IdxFile() { gzclose(file_); }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  // Reads exactly n bytes; returns how many were there.
  size_t read(void* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(file_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int err = 0;
        bad(path_, std::string("decompression failed (") + gzerror(file_, &err) + ")");
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  IdxFile file(path);
  unsigned char head[4];
  if (file.read(head, 4) < 4 || head[0] != 0 || head[1] != 0) bad(path, "bad magic number");
  const int type = head[2], rank = head[3];
  size_t esize;
  DType dtype;
  switch (type) {
    case 0x08: esize = 1; dtype = DType::UInt8; break;
    case 0x09: esize = 1; dtype = DType::Int32; break;
    case 0x0B: esize = 2; dtype = DType::Int32; break;
    case 0x0C: esize = 4; dtype = DType::Int32; break;
    case 0x0D: esize = 4; dtype = DType::Float32; break;
    case 0x0E: esize = 8; dtype = DType::Float64; break;
    default: bad(path, "unknown data type code " + std::to_string(type));
  }
  std::vector<unsigned char> dims(4 * static_cast<size_t>(rank));
  if (file.read(dims.data(), dims.size()) < dims.size()) bad(path, "truncated dimensions");
  Shape shape;
  uint64_t count = 1, extent = 1;  // extent skips zero dims: strides must fit too
  for (int i = 0; i < rank; ++i) {
    const uint32_t d = big_endian(dims.data() + 4 * i);
    shape.push_back(d);
    count *= d;
    extent *= std::max<uint32_t>(d, 1);
    if (extent > (uint64_t{1} << 36)) bad(path, "dimensions too large: " + shape.str() + "...");
  }
  // The payload goes straight into the tensor (uint8) or a raw buffer (wider types): one copy.
  Tensor raw = empty({static_cast<int64_t>(count * esize)}, DType::UInt8, Device::cpu(), "read_idx");
  const size_t got = file.read(raw.data_ptr(), count * esize);
  if (got < count * esize) {
    bad(path, "truncated: shape " + shape.str() + " needs " + std::to_string(count * esize) + " bytes of data, the file has " +
                  std::to_string(got));
  }
  if (type == 0x08) return reshape(raw, shape);
  // Wider types are big-endian: convert element by element.
  const unsigned char* p = static_cast<const unsigned char*>(raw.data_ptr());
  Tensor out = empty(shape, dtype);
  for (uint64_t i = 0; i < count; ++i) {
    const unsigned char* e = p + i * esize;
    switch (type) {
      case 0x09: static_cast<int32_t*>(out.data_ptr())[i] = static_cast<int8_t>(e[0]); break;
      case 0x0B: static_cast<int32_t*>(out.data_ptr())[i] = static_cast<int16_t>((e[0] << 8) | e[1]); break;
      case 0x0C: static_cast<int32_t*>(out.data_ptr())[i] = static_cast<int32_t>(big_endian(e)); break;
      case 0x0D: {
        const uint32_t bits = big_endian(e);
        std::memcpy(static_cast<float*>(out.data_ptr()) + i, &bits, 4);
        break;
      }
      default: {
        const uint64_t bits = (uint64_t{big_endian(e)} << 32) | big_endian(e + 4);
        std::memcpy(static_cast<double*>(out.data_ptr()) + i, &bits, 8);
        break;
      }
    }
  }
  return out;
}

void write_idx(const std::string& path, const Tensor& tensor) {
  if (!tensor.defined()) throw InvalidArgument("[write_idx] the tensor handle is empty");
  if (tensor.dtype() != DType::UInt8 && tensor.dtype() != DType::Int32 && tensor.dtype() != DType::Float32 &&
      tensor.dtype() != DType::Float64) {
    throw DTypeError("[write_idx] IDX holds uint8, int32, float32 or float64, got " + std::string(dtype_name(tensor.dtype())));
  }
  if (tensor.rank() > 255) throw InvalidArgument("[write_idx] rank is too large for IDX");
  const unsigned char code = tensor.dtype() == DType::UInt8 ? 0x08 : tensor.dtype() == DType::Int32 ? 0x0C
                             : tensor.dtype() == DType::Float32 ? 0x0D : 0x0E;
  std::vector<char> raw = {0, 0, static_cast<char>(code), static_cast<char>(tensor.rank())};
  for (int64_t d : tensor.shape()) {
    for (int s = 24; s >= 0; s -= 8) raw.push_back(static_cast<char>((static_cast<uint64_t>(d) >> s) & 0xff));
  }
  std::vector<char> data(tensor.nbytes());
  tensor.copy_to_host(data.data(), data.size());
  const size_t esize = dtype_size(tensor.dtype());
  for (size_t i = 0; i < data.size(); i += esize) std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i), data.begin() + static_cast<std::ptrdiff_t>(i + esize));
  raw.insert(raw.end(), data.begin(), data.end());
  if (!ends_with(path, ".gz")) {
    io::write_file_atomically(path, raw, "write_idx");
    return;
  }
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw InternalError("[write_idx] zlib initialisation failed");
  }
  std::vector<char> packed(deflateBound(&z, raw.size()) + 32);
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(packed.data());
  z.avail_out = static_cast<uInt>(packed.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw InternalError("[write_idx] gzip compression failed");
  packed.resize(written);
  io::write_file_atomically(path, packed, "write_idx");
}

namespace {

// `dir/name` when it exists, else `dir/name.gz`.
std::string plain_or_gzipped(const std::string& dir, const std::string& name) {
  const std::filesystem::path plain = std::filesystem::path(dir) / name;
  std::error_code ec;
  if (std::filesystem::exists(plain, ec)) return plain.string();
  const std::string gzipped = plain.string() + ".gz";
  if (std::filesystem::exists(gzipped, ec)) return gzipped;
  throw IOError("[load_mnist] neither '" + plain.string() + "' nor '" + gzipped + "' exists");
}

}  // namespace

MnistData load_mnist(const std::string& dir) {
  MnistData d;
  d.x_train = read_idx(plain_or_gzipped(dir, "train-images-idx3-ubyte"));
  d.y_train = read_idx(plain_or_gzipped(dir, "train-labels-idx1-ubyte"));
  d.x_test = read_idx(plain_or_gzipped(dir, "t10k-images-idx3-ubyte"));
  d.y_test = read_idx(plain_or_gzipped(dir, "t10k-labels-idx1-ubyte"));
  const auto check = [&](const Tensor& images, const Tensor& labels, const char* split) {
    if (images.rank() != 3 || labels.rank() != 1 || images.dim(0) != labels.dim(0)) {
      throw IOError(std::string("[load_mnist] the ") + split + " files in '" + dir + "' do not match: images " +
                    images.shape().str() + ", labels " + labels.shape().str() + " (expected (N, rows, cols) and (N,))");
    }
  };
  check(d.x_train, d.y_train, "training");
  check(d.x_test, d.y_test, "test");
  return d;
}

}  // namespace loom::data
