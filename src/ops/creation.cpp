// Creation ops (fill, range, random) and the host-side constructors of creation.hpp.
#include "loom/creation.hpp"

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>

#include "loom/backend/backend.hpp"
#include "ops/op_utils.hpp"

namespace loom {
namespace {

Shape shape_attr(const OpCall& call) {
  Shape shape(call.attrs.get_ints("shape", call.name()));
  for (int64_t d : shape) {
    if (d < 0) throw ShapeError(ops::op_prefix(call) + "dimensions must be >= 0, got " + shape.str());
  }
  return shape;
}

std::vector<TensorMeta> infer_fill(const OpCall& call) {
  return {TensorMeta{shape_attr(call), call.attrs.get_dtype("dtype", call.name())}};
}

std::vector<TensorMeta> infer_random(const OpCall& call) {
  return {TensorMeta{shape_attr(call), call.attrs.get_dtype("dtype", call.name())}};
}

std::vector<TensorMeta> infer_random_uniform(const OpCall& call) {
  const DType dtype = call.attrs.get_dtype("dtype", call.name());
  const double lo = call.attrs.get_float("minval", call.name());
  const double hi = call.attrs.get_float("maxval", call.name());
  if (!(lo < hi)) {
    throw InvalidArgument(ops::op_prefix(call) + "minval (" + std::to_string(lo) +
                          ") must be less than maxval (" + std::to_string(hi) + ")");
  }
  if (dtype == DType::Int32 || dtype == DType::Int64) {  // whole-number bounds in range, as TF
    const double limit = dtype == DType::Int32 ? 2147483648.0 : 9.2e18;
    for (double v : {lo, hi}) {
      if (v != std::floor(v) || !(std::fabs(v) <= limit)) {
        throw InvalidArgument(ops::op_prefix(call) + "integer minval and maxval must be whole numbers within " +
                              dtype_name(dtype) + ", got " + std::to_string(v));
      }
    }
  }
  return {TensorMeta{shape_attr(call), dtype}};
}

std::vector<TensorMeta> infer_range(const OpCall& call) {
  const double start = call.attrs.get_float("start", call.name());
  const double limit = call.attrs.get_float("limit", call.name());
  const double delta = call.attrs.get_float("delta", call.name());
  if (delta == 0) throw InvalidArgument(ops::op_prefix(call) + "delta must not be 0");
  const double count = std::ceil((limit - start) / delta);
  if (!(count < 9.2e18)) throw InvalidArgument(ops::op_prefix(call) + "range is too large");
  return {TensorMeta{Shape{count > 0 ? static_cast<int64_t>(count) : 0},
                     call.attrs.get_dtype("dtype", call.name())}};
}

// An op without inputs that makes a tensor of `shape` and `dtype` (float32 unless given), with
// float parameters that have defaults.
void creation_op(const char* name, DTypeMask dtypes, InferFn infer,
                 std::initializer_list<std::pair<const char*, double>> parameters, const char* doc) {
  OpBuilder b = define_op(name);
  b.dtypes(dtypes).attr("shape", AttrType::IntList, true).attr("dtype", DType::Float32);
  for (const auto& [parameter, default_value] : parameters) b.attr(parameter, default_value);
  if (std::string(name) != "fill") b.attr("seed", AttrType::Int, true);
  b.infer(infer).doc(doc);
}

std::vector<Tensor> forward_linspace(const OpCall& call) {
  const double start = call.attrs.get_float("start", call.name());
  const double stop = call.attrs.get_float("stop", call.name());
  const int64_t num = call.attrs.get_int("num", call.name());
  const DType dtype = call.attrs.get_dtype("dtype", call.name());
  if (num < 0) throw InvalidArgument(ops::op_prefix(call) + "num must be >= 0");
  if (!is_floating(dtype)) throw DTypeError(ops::op_prefix(call) + "dtype must be floating");
  const double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
  DeviceScope here(call.device);
  return {cast(arange(0, static_cast<double>(num), 1, DType::Float64) * step + start, dtype)};
}

std::vector<Tensor> forward_eye(const OpCall& call) {
  const int64_t rows = call.attrs.get_int("rows", call.name());
  const int64_t cols = call.attrs.get_int("cols", rows, call.name());
  if (rows < 0 || cols < 0) throw InvalidArgument(ops::op_prefix(call) + "sizes must be >= 0");
  DeviceScope here(call.device);
  return {cast(equal(expand_dims(range(rows), 1), range(cols)),
               call.attrs.get_dtype("dtype", call.name()))};
}

struct GlobalSeed {
  std::mutex mutex;
  uint64_t seed = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
  uint64_t counter = 0;
};
GlobalSeed& global_seed() {
  static GlobalSeed g;
  return g;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Tensor random_op(const char* name, const Shape& shape, DType dtype, std::optional<uint64_t> seed,
                 std::initializer_list<std::pair<const char*, double>> params) {
  Attrs attrs{{"shape", shape.vec()}, {"dtype", dtype},
              {"seed", static_cast<int64_t>(seed ? *seed : next_random_seed())}};
  for (const auto& [k, v] : params) attrs.set(k, v);
  return dispatch1(find_op(name, name), {}, attrs);
}

}  // namespace

LOOM_REGISTER_OPS(creation) {
  creation_op("fill", kAllTypes, infer_fill, {{"value", 0.0}}, "a tensor of `shape` filled with `value`");
  creation_op("random_normal", kFloatTypes, infer_random, {{"mean", 0.0}, {"stddev", 1.0}},
              "normal values (Philox, Box-Muller); the same seed gives the same values");
  creation_op("random_uniform", kFloatTypes | mask_of({DType::Int32, DType::Int64}), infer_random_uniform,
              {{"minval", 0.0}, {"maxval", 1.0}},
              "uniform values in [minval, maxval); int32/int64 dtypes draw integers");
  creation_op("truncated_normal", kFloatTypes, infer_random, {{"mean", 0.0}, {"stddev", 1.0}},
              "normal values redrawn until within 2 stddev of the mean");
  define_op("range").dtypes(kNumeric).attr("start", AttrType::Float, true)
      .attr("limit", AttrType::Float, true).attr("delta", 1.0)
      .attr("dtype", DType::Int64).infer(infer_range)
      .doc("start, start + delta, ... up to (not including) limit");
  define_op("linspace").dtypes(kFloatTypes | kHalfTypes).attr("start", AttrType::Float, true)
      .attr("stop", AttrType::Float, true).attr("num", AttrType::Int, true)
      .attr("dtype", DType::Float32).composite(forward_linspace)
      .no_gradient().doc("num evenly spaced values from start to stop (inclusive)");
  define_op("eye").attr("rows", AttrType::Int, true).attr("cols", AttrType::Int)
      .attr("dtype", DType::Float32).composite(forward_eye).no_gradient()
      .doc("identity matrix of rows x cols (cols defaults to rows)");
}

namespace {

// New host tensors move to the innermost DeviceScope's device.
Tensor place_new(Tensor host) {
  Device scope;
  if (current_device_scope(&scope) && scope != host.device()) return host.to(scope);
  return host;
}

template <class Src>
void convert_host(const Src* src, size_t n, DType dtype, void* dst) {
  auto put = [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(dst);
    for (size_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        out[i] = T(static_cast<float>(src[i]));
      } else if constexpr (std::is_same_v<T, bool>) {
        out[i] = src[i] != 0;
      } else {
        out[i] = static_cast<T>(src[i]);
      }
    }
  };
  switch (dtype) {
    case DType::Float32: put(float{}); break;
    case DType::Float64: put(double{}); break;
    case DType::Int32: put(int32_t{}); break;
    case DType::Int64: put(int64_t{}); break;
    case DType::Bool: put(bool{}); break;
    case DType::UInt8: put(uint8_t{}); break;
    case DType::Float16: put(Half{}); break;
    case DType::BFloat16: put(BFloat16{}); break;
  }
}

template <class Src>
Tensor constant_from_values(const std::vector<Src>& values, const Shape& shape, DType dtype) {
  if (!dtype_is_valid(static_cast<int32_t>(dtype))) {
    throw DTypeError("[constant] invalid dtype number " + std::to_string(static_cast<int>(dtype)));
  }
  if (static_cast<int64_t>(values.size()) != shape.numel()) {
    throw ShapeError("[constant] " + std::to_string(values.size()) +
                     " values do not fill shape " + shape.str() + " (" +
                     std::to_string(shape.numel()) + " elements)");
  }
  Tensor t = empty(shape, dtype, Device::cpu(), "constant");
  convert_host(values.data(), values.size(), dtype, t.data_ptr());
  return place_new(t);
}

}  // namespace

namespace detail {
Tensor constant_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return constant_from_values(values, shape, dtype);
}
Tensor constant_from_int64s(const std::vector<int64_t>& values, const Shape& shape, DType dtype) {
  return constant_from_values(values, shape, dtype);
}
}  // namespace detail

namespace {
// Host memory of `nbytes` must hold exactly `shape` of `dtype` (dims >= 0, no overflow).
void check_host_bytes(const Shape& shape, DType dtype, size_t nbytes, const char* op) {
  const size_t want = tensor_nbytes(shape, dtype, op);
  if (nbytes != want) {
    throw InvalidArgument(std::string("[") + op + "] " + std::to_string(nbytes) + " bytes do not match shape " +
                          shape.str() + " of " + dtype_name(dtype) + " (" + std::to_string(want) + " bytes)");
  }
}
}  // namespace

Tensor from_host(const void* data, size_t nbytes, const Shape& shape, DType dtype) {
  if (!dtype_is_valid(static_cast<int32_t>(dtype))) {
    throw DTypeError("[from_host] invalid dtype number " + std::to_string(static_cast<int>(dtype)));
  }
  check_host_bytes(shape, dtype, nbytes, "from_host");  // before allocating anything
  if (nbytes && !data) throw InvalidArgument("[from_host] data is NULL");
  Tensor t = empty(shape, dtype, Device::cpu(), "from_host");
  if (nbytes) std::memcpy(t.data_ptr(), data, nbytes);
  if (dtype == DType::Bool) {  // any non-zero byte is true; kernels rely on 0 and 1
    auto* b = static_cast<uint8_t*>(t.data_ptr());
    for (size_t i = 0; i < nbytes; ++i) b[i] = b[i] != 0;
  }
  return place_new(t);
}

Tensor wrap_host(void* data, size_t nbytes, const Shape& shape, DType dtype,
                 void (*deleter)(void*, void*), void* user) {
  // The deleter runs exactly once, also when this call fails.
  struct DeleterGuard {
    void* data;
    void (*deleter)(void*, void*);
    void* user;
    ~DeleterGuard() {
      if (deleter) deleter(data, user);
    }
  } guard{data, deleter, user};
  if (!dtype_is_valid(static_cast<int32_t>(dtype))) {
    throw DTypeError("[wrap_host] invalid dtype number " + std::to_string(static_cast<int>(dtype)));
  }
  check_host_bytes(shape, dtype, nbytes, "wrap_host");
  if (nbytes && !data) throw InvalidArgument("[wrap_host] data is NULL");
  if (dtype == DType::Bool) {  // zero-copy: the caller's bytes are used as they are, so check them
    const auto* b = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < nbytes; ++i) {
      if (b[i] > 1) {
        throw InvalidArgument("[wrap_host] bool data must hold 0 or 1 in each byte; byte " + std::to_string(i) +
                              " is " + std::to_string(b[i]));
      }
    }
  }
  auto storage = detail::make_ref<Storage>(data, nbytes, Device::cpu(), deleter, user);
  guard.deleter = nullptr;  // the storage owns the memory now
  return Tensor(detail::make_ref<TensorImpl>(shape, contiguous_strides(shape), 0, dtype,
                                             std::move(storage), "wrap_host"));
}

Tensor fill(const Shape& shape, double value, DType dtype) {
  static const OpDef& op = find_op("fill", "fill");
  return dispatch1(op, {}, Attrs{{"shape", shape.vec()}, {"value", value}, {"dtype", dtype}});
}
Tensor zeros(const Shape& shape, DType dtype) { return fill(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return fill(shape, 1.0, dtype); }
Tensor fill_like(const Tensor& x, double value) {
  if (x.device().is_cpu() && x.numel() == 1) {  // a loss's gradient seed: written here, not dispatched
    Tensor t = empty(x.shape(), x.dtype(), Device::cpu(), "fill");
    convert_host(&value, 1, x.dtype(), t.data_ptr());
    return t;
  }
  DeviceScope here(x.device());
  return fill(x.shape(), value, x.dtype());
}
Tensor zeros_like(const Tensor& x) { return fill_like(x, 0.0); }
Tensor ones_like(const Tensor& x) { return fill_like(x, 1.0); }

Tensor arange(double start, double stop, double step, DType dtype) {
  static const OpDef& op = find_op("range", "arange");
  return dispatch1(op, {}, Attrs{{"start", start}, {"limit", stop}, {"delta", step}, {"dtype", dtype}});
}
Tensor range(int64_t limit) { return arange(0, static_cast<double>(limit), 1, DType::Int64); }
Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  static const OpDef& op = find_op("linspace", "linspace");
  return dispatch1(op, {}, Attrs{{"start", start}, {"stop", stop}, {"num", num}, {"dtype", dtype}});
}
Tensor eye(int64_t rows, std::optional<int64_t> cols, DType dtype) {
  static const OpDef& op = find_op("eye", "eye");
  return dispatch1(op, {}, Attrs{{"rows", rows}, {"cols", cols.value_or(rows)}, {"dtype", dtype}});
}

void set_seed(uint64_t seed) {
  GlobalSeed& g = global_seed();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.seed = seed;
  g.counter = 0;
}

uint64_t next_random_seed() {
  GlobalSeed& g = global_seed();
  std::lock_guard<std::mutex> lock(g.mutex);
  return splitmix64(g.seed ^ splitmix64(g.counter++)) & 0x7fffffffffffffffull;
}

std::pair<uint64_t, uint64_t> random_state() {
  GlobalSeed& g = global_seed();
  std::lock_guard<std::mutex> lock(g.mutex);
  return {g.seed, g.counter};
}

void set_random_state(std::pair<uint64_t, uint64_t> state) {
  GlobalSeed& g = global_seed();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.seed = state.first;
  g.counter = state.second;
}

Tensor random_normal(const Shape& shape, double mean, double stddev, DType dtype,
                     std::optional<uint64_t> seed) {
  return random_op("random_normal", shape, dtype, seed, {{"mean", mean}, {"stddev", stddev}});
}
Tensor random_uniform(const Shape& shape, double minval, double maxval, DType dtype,
                      std::optional<uint64_t> seed) {
  return random_op("random_uniform", shape, dtype, seed, {{"minval", minval}, {"maxval", maxval}});
}
Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype,
                        std::optional<uint64_t> seed) {
  return random_op("truncated_normal", shape, dtype, seed, {{"mean", mean}, {"stddev", stddev}});
}

}  // namespace loom
