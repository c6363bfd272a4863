// Keras 2's HDF5 weight layout over the HDF5 C library. Keras writes the layout in
// keras/saving/legacy/hdf5_format.py (save_weights_to_hdf5_group and
// save_attributes_to_hdf5_group) and reads it back in load_weights_from_hdf5_group.
#include "io/keras_h5.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "io/files.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/version.hpp"

namespace loom::io {
namespace {

// Keras splits a list attribute larger than this into "<name>0", "<name>1", ... (HDF5's object
// header limit, HDF5_OBJECT_HEADER_LIMIT in hdf5_format.py).
constexpr size_t kAttributeLimit = 64512;
constexpr int kMaxRank = 32;

// An HDF5 identifier, closed when it goes out of scope.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept {
    std::swap(id_, other.id_);
    std::swap(close_, other.close_);
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr unless told not to; loom reports errors itself. The
// setting is per thread in HDF5's thread-safe build.
void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The HDF5 types of the dtypes Keras weights come in: {in the file, in memory}.
std::pair<hid_t, hid_t> hdf5_types(DType dtype, const char* op) {
  switch (dtype) {
    case DType::Float32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case DType::Float64: return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
    case DType::Int32: return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case DType::Int64: return {H5T_STD_I64LE, H5T_NATIVE_INT64};
    case DType::UInt8: return {H5T_STD_U8LE, H5T_NATIVE_UINT8};
    default: break;
  }
  throw DTypeError(std::string("[") + op + "] Keras HDF5 weight files hold float32, float64, int32, int64 or uint8 "
                   "weights, not " + dtype_name(dtype));
}

// A fixed-length, null-padded string type of `size` bytes (what h5py makes of NumPy's "S" dtype).
Id string_type(size_t size) {
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(size, 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  return type;
}

class Writer {
 public:
  Writer(const std::string& path, const char* op) : path_(path), op_(op) {}

  void check(herr_t status, const std::string& what) const {
    if (status < 0) throw IOError(std::string("[") + op_ + "] cannot write " + what + " to '" + path_ + "'");
  }
  hid_t check_id(const Id& id, const std::string& what) const {
    if (!id.valid()) throw IOError(std::string("[") + op_ + "] cannot create " + what + " in '" + path_ + "'");
    return id.get();
  }

  // A list of names as Keras writes one: fixed-length strings, split in chunks when large, and
  // an empty float64 array for no names (NumPy's np.asarray([])).
  void string_list(hid_t object, const std::string& name, const std::vector<std::string>& values) const {
    if (values.empty()) {
      const hsize_t none = 0;
      Id space(H5Screate_simple(1, &none, nullptr), H5Sclose);
      Id attr(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, check_id(space, "attribute " + name), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
      check_id(attr, "attribute " + name);
      return;
    }
    size_t width = 1;
    for (const std::string& v : values) width = std::max(width, v.size());
    size_t chunks = 1;
    while ((values.size() + chunks - 1) / chunks * width > kAttributeLimit && chunks < values.size()) ++chunks;
    if (width > kAttributeLimit) throw IOError(std::string("[") + op_ + "] the name '" + values[0].substr(0, 64) + "...' is too long for a Keras HDF5 file");
    size_t begin = 0;
    for (size_t c = 0; c < chunks; ++c) {
      // np.array_split: the first (n % chunks) chunks hold one more value.
      const size_t count = values.size() / chunks + (c < values.size() % chunks ? 1 : 0);
      std::vector<char> buffer(count * width, '\0');
      for (size_t i = 0; i < count; ++i) std::memcpy(buffer.data() + i * width, values[begin + i].data(), values[begin + i].size());
      const std::string attr_name = chunks == 1 ? name : name + std::to_string(c);
      const hsize_t dims = count;
      Id space(H5Screate_simple(1, &dims, nullptr), H5Sclose);
      Id type = string_type(width);
      Id attr(H5Acreate2(object, attr_name.c_str(), type.get(), check_id(space, "attribute " + attr_name), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
      check(H5Awrite(check_id(attr, "attribute " + attr_name), type.get(), buffer.data()), "attribute " + attr_name);
      begin += count;
    }
  }

  void string_scalar(hid_t object, const std::string& name, const std::string& value) const {
    Id space(H5Screate(H5S_SCALAR), H5Sclose);
    Id type = string_type(value.size());
    Id attr(H5Acreate2(object, name.c_str(), type.get(), check_id(space, "attribute " + name), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    std::vector<char> buffer(std::max<size_t>(value.size(), 1), '\0');
    std::memcpy(buffer.data(), value.data(), value.size());
    check(H5Awrite(check_id(attr, "attribute " + name), type.get(), buffer.data()), "attribute " + name);
  }

  // A dataset at `name` inside `group`, creating the groups its path names ("dense/kernel:0").
  void dataset(hid_t group, const std::string& name, const Tensor& value) const {
    const auto [file_type, memory_type] = hdf5_types(value.dtype(), op_);
    std::vector<hsize_t> dims(value.shape().begin(), value.shape().end());
    Id space(value.rank() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(value.rank(), dims.data(), nullptr), H5Sclose);
    Id links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(links.get(), 1);
    Id set(H5Dcreate2(group, name.c_str(), file_type, check_id(space, "dataset " + name), links.get(), H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
    std::vector<char> host(value.nbytes());
    value.copy_to_host(host.data(), host.size());
    check(H5Dwrite(check_id(set, "dataset " + name), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data()), "dataset " + name);
  }

 private:
  const std::string& path_;
  const char* op_;
};

}  // namespace

void save_keras_h5(const std::string& path, const std::vector<KerasLayerWeights>& layers, const char* op) {
  for (const auto& layer : layers) {
    for (const auto& [name, value] : layer.weights) hdf5_types(value.dtype(), op);  // refused before anything is written
  }
  write_file_atomically_with(path, [&](const std::string& tmp) {
    silence_hdf5();
    const Writer w(tmp, op);
    Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    const hid_t root = w.check_id(file, "the file");
    std::vector<std::string> names;
    for (const auto& layer : layers) names.push_back(layer.name);
    w.string_list(root, "layer_names", names);
    w.string_scalar(root, "backend", "loom");
    w.string_scalar(root, "keras_version", std::string("2 (written by loom ") + version_string() + ")");
    for (const auto& layer : layers) {
      Id group(H5Gcreate2(root, layer.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      w.check_id(group, "group " + layer.name);
      std::vector<std::string> weight_names;
      for (const auto& [name, value] : layer.weights) weight_names.push_back(name);
      w.string_list(group.get(), "weight_names", weight_names);
      for (const auto& [name, value] : layer.weights) w.dataset(group.get(), name, value);
    }
    w.check(H5Fflush(root, H5F_SCOPE_GLOBAL), "the file");
  }, op);
}

struct KerasH5Reader::File {
  Id file{-1, H5Fclose};
  Id root{-1, H5Gclose};
};

namespace {

[[noreturn]] void not_keras(const std::string& path, const char* op, const std::string& why) {
  throw IOError(std::string("[") + op + "] '" + path + "' is not a Keras HDF5 weight file: " + why);
}

// One attribute of strings, or nullopt when `object` has no attribute `name`. An attribute with
// no values reads as no names, whatever its type (Keras writes an empty float64 array).
std::optional<std::vector<std::string>> read_strings(hid_t object, const std::string& name, const std::string& path,
                                                     const char* op) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Id attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  Id space(H5Aget_space(attr.get()), H5Sclose);
  Id type(H5Aget_type(attr.get()), H5Tclose);
  if (!attr.valid() || !space.valid() || !type.valid()) not_keras(path, op, "cannot read attribute '" + name + "'");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0 || H5Sget_simple_extent_ndims(space.get()) > 1) not_keras(path, op, "attribute '" + name + "' is not a list");
  std::vector<std::string> out;
  if (count == 0) return out;
  if (H5Tget_class(type.get()) != H5T_STRING) not_keras(path, op, "attribute '" + name + "' holds no strings");
  const size_t n = static_cast<size_t>(count);
  if (H5Tis_variable_str(type.get()) > 0) {
    Id memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));  // HDF5 converts no ASCII to UTF-8 (h5py's str)
    std::vector<char*> values(n, nullptr);
    if (H5Aread(attr.get(), memory.get(), values.data()) < 0) not_keras(path, op, "cannot read attribute '" + name + "'");
    for (char* v : values) out.emplace_back(v ? v : "");
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, values.data());
    return out;
  }
  const size_t width = H5Tget_size(type.get());
  if (width == 0) not_keras(path, op, "attribute '" + name + "' holds strings of no size");
  Id memory = string_type(width);
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
  std::vector<char> buffer(n * width);
  if (H5Aread(attr.get(), memory.get(), buffer.data()) < 0) not_keras(path, op, "cannot read attribute '" + name + "'");
  for (size_t i = 0; i < n; ++i) {
    const char* v = buffer.data() + i * width;
    out.emplace_back(v, strnlen(v, width));
  }
  return out;
}

// A list attribute as Keras reads one: whole, or in chunks "<name>0", "<name>1", ...
std::optional<std::vector<std::string>> read_list(hid_t object, const std::string& name, const std::string& path,
                                                  const char* op) {
  if (auto whole = read_strings(object, name, path, op)) return whole;
  std::optional<std::vector<std::string>> out;
  for (int chunk = 0;; ++chunk) {
    auto part = read_strings(object, name + std::to_string(chunk), path, op);
    if (!part) return out;
    if (!out) out.emplace();
    out->insert(out->end(), part->begin(), part->end());
  }
}

}  // namespace

KerasH5Reader::KerasH5Reader(const std::string& path, const char* op) : file_(std::make_unique<File>()), path_(path), op_(op) {
  check_readable(path, op);
  silence_hdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0) not_keras(path, op, "it is no HDF5 file");
  file_->file = Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file_->file.valid()) not_keras(path, op, "HDF5 cannot open it (truncated or corrupt?)");
  file_->root = Id(H5Gopen2(file_->file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (!file_->root.valid()) not_keras(path, op, "HDF5 cannot open its root group");
  std::optional<std::vector<std::string>> names = read_list(file_->root.get(), "layer_names", path, op);
  if (!names && H5Lexists(file_->root.get(), "model_weights", H5P_DEFAULT) > 0) {
    // A whole-model file (Keras' model.save("m.h5")) keeps the weights in this group.
    file_->root = Id(H5Gopen2(file_->file.get(), "model_weights", H5P_DEFAULT), H5Gclose);
    if (!file_->root.valid()) not_keras(path, op, "cannot open its group 'model_weights'");
    names = read_list(file_->root.get(), "layer_names", path, op);
  }
  if (!names) not_keras(path, op, "it has no attribute 'layer_names'");
  for (const std::string& layer_name : *names) {
    Layer layer{layer_name, {}};
    Id group(H5Oopen(file_->root.get(), layer_name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!group.valid() || H5Iget_type(group.get()) != H5I_GROUP) not_keras(path, op, "layer '" + layer_name + "' has no group");
    const auto weight_names = read_list(group.get(), "weight_names", path, op);
    if (!weight_names) not_keras(path, op, "the group of layer '" + layer_name + "' has no attribute 'weight_names'");
    for (const std::string& weight_name : *weight_names) {
      Id set(H5Oopen(group.get(), weight_name.c_str(), H5P_DEFAULT), H5Oclose);
      if (!set.valid() || H5Iget_type(set.get()) != H5I_DATASET) {
        not_keras(path, op, "layer '" + layer_name + "' lists weight '" + weight_name + "', which is no dataset in its group");
      }
      Id space(H5Dget_space(set.get()), H5Sclose);
      const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
      if (rank < 0 || rank > kMaxRank) not_keras(path, op, "weight '" + weight_name + "' has an unreadable shape");
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      Shape shape;
      for (hsize_t d : dims) {
        if (d > static_cast<hsize_t>(INT64_MAX)) not_keras(path, op, "weight '" + weight_name + "' has an impossible shape");
        shape.push_back(static_cast<int64_t>(d));
      }
      layer.weights.push_back({weight_name, shape});
    }
    layers_.push_back(std::move(layer));
  }
}

KerasH5Reader::~KerasH5Reader() = default;

Tensor KerasH5Reader::read(size_t layer, size_t weight, DType dtype) const {
  silence_hdf5();
  const Layer& l = layers_.at(layer);
  const Weight& w = l.weights.at(weight);
  const hid_t memory_type = hdf5_types(dtype, op_).second;
  Id group(H5Oopen(file_->root.get(), l.name.c_str(), H5P_DEFAULT), H5Oclose);
  Id set(group.valid() ? H5Dopen2(group.get(), w.name.c_str(), H5P_DEFAULT) : -1, H5Dclose);
  Id type(set.valid() ? H5Dget_type(set.get()) : -1, H5Tclose);
  const H5T_class_t kind = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  if (kind != H5T_FLOAT && kind != H5T_INTEGER) {
    not_keras(path_, op_, "weight '" + w.name + "' of layer '" + l.name + "' holds no numbers");
  }
  size_t count = 1;
  for (int64_t d : w.shape) count *= static_cast<size_t>(d);
  std::vector<char> host(count * dtype_size(dtype));
  if (H5Dread(set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data()) < 0) {
    not_keras(path_, op_, "cannot read the values of weight '" + w.name + "' of layer '" + l.name + "' (truncated or corrupt?)");
  }
  return from_host(host.data(), host.size(), w.shape, dtype);
}

}  // namespace loom::io
