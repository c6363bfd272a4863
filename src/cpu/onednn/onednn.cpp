#include "cpu/onednn/onednn.hpp"

#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "loom/ops.hpp"
#include "loom/threads.hpp"

namespace loom::onednn {
namespace {

constexpr size_t kCapacity = 1024;

struct Cache {
  std::mutex mutex;
  std::list<std::pair<std::string, std::shared_ptr<void>>> lru;  // most recent first
  std::unordered_map<std::string, decltype(lru)::iterator> index;
};

Cache& cache() {
  static Cache c;
  return c;
}

std::atomic<int64_t> creations{0};

}  // namespace

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

int64_t primitive_creations() { return creations.load(); }
void count_creation() { creations.fetch_add(1); }

std::shared_ptr<void> cached(const std::string& key, const std::function<std::shared_ptr<void>()>& make) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.index.find(key);
    if (it != c.index.end()) {
      c.lru.splice(c.lru.begin(), c.lru, it->second);
      return it->second->second;
    }
  }
  std::shared_ptr<void> value = make();  // outside the lock: creation can take milliseconds
  count_creation();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.index.find(key);
  if (it != c.index.end()) return it->second->second;  // another thread made it meanwhile
  c.lru.emplace_front(key, value);
  c.index[key] = c.lru.begin();
  if (c.lru.size() > kCapacity) {
    c.index.erase(c.lru.back().first);
    c.lru.pop_back();
  }
  return value;
}

std::string key_prefix(const char* kind) { return std::string(kind) + "|t" + std::to_string(get_num_threads()); }

std::string dims_key(const dnnl::memory::dims& dims) {
  std::string s = "(";
  for (auto d : dims) s += std::to_string(d) + ",";
  return s + ")";
}

bool generic_bf16(const dnnl::primitive_desc_base& pd) {
  if (pd.src_desc().data_type() != dnnl::memory::data_type::bf16 &&
      pd.diff_dst_desc().data_type() != dnnl::memory::data_type::bf16) {
    return false;
  }
  const std::string impl = pd.impl_info_str();
  return impl.find("gemm") != std::string::npos || impl.find("ref") != std::string::npos;
}

bool below_best_isa(const dnnl::primitive_desc_base& pd) {
  static const bool has_avx512 = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  const std::string impl = pd.impl_info_str();
  return has_avx512 && impl.find("avx512") == std::string::npos;
}

bool best_jit_kernel(const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  return !below_best_isa(pd) && impl.find("ref") == std::string::npos && impl.find("gemm") == std::string::npos;
}

bool pads_channels(const dnnl::memory::desc& d) { return d.data.ndims > 1 && d.data.padded_dims[1] > d.data.dims[1]; }

namespace {
// The element stride of each dimension, where the layout has one (plain strides, or a blocked
// layout whose every blocked dimension fits in one block: 16 channels as nChw16c).
std::optional<std::vector<int64_t>> element_strides(const dnnl_memory_desc_t& d) {
  if (d.format_kind != dnnl_blocked || d.extra.flags != 0 || d.offset0 != 0) return std::nullopt;
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  std::vector<int64_t> strides(b.strides, b.strides + d.ndims);
  for (int i = 0; i < d.ndims; ++i) {
    if (d.padded_dims[i] != d.dims[i] || d.padded_offsets[i] != 0) return std::nullopt;
  }
  int64_t inner = 1;  // stride of the innermost block
  for (int k = b.inner_nblks - 1; k >= 0; --k) {
    const int dim = b.inner_idxs[k];
    if (b.inner_blks[k] != d.dims[dim]) return std::nullopt;  // several blocks, or several levels
    strides[static_cast<size_t>(dim)] = inner;
    inner *= b.inner_blks[k];
  }
  return strides;
}
}  // namespace

bool same_bytes(const dnnl::memory::desc& a, const dnnl::memory::desc& b) {
  if (a == b) return true;
  if (a.data.ndims != b.data.ndims || a.data.data_type != b.data.data_type) return false;
  const auto sa = element_strides(a.data), sb = element_strides(b.data);
  if (!sa || !sb) return false;
  for (int i = 0; i < a.data.ndims; ++i) {
    if (a.data.dims[i] != b.data.dims[i]) return false;
    if (a.data.dims[i] > 1 && (*sa)[static_cast<size_t>(i)] != (*sb)[static_cast<size_t>(i)]) return false;
  }
  return true;
}

void decline(const char* why) { throw dnnl::error(dnnl_unimplemented, why); }

dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& user) {
  return dnnl::memory(user, engine(), t.data_ptr());
}

std::shared_ptr<Reorder> make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  if (same_bytes(from, to)) return nullptr;
  auto r = std::make_shared<Reorder>();
  r->pd = dnnl::reorder::primitive_desc(engine(), from, engine(), to, attributes());
  r->primitive = dnnl::reorder(r->pd);
  return r;
}

namespace {
Converted scratch(const dnnl::memory::desc& wanted) {
  Converted c;
  c.storage = empty({static_cast<int64_t>(wanted.get_size())}, DType::UInt8, Device::cpu(), "onednn");
  c.memory = dnnl::memory(wanted, engine(), c.storage.data_ptr());
  return c;
}
}  // namespace

dnnl::primitive_attr attributes() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::primitive_attr attributes(const std::string& activation) {
  dnnl::primitive_attr attr = attributes();
  if (activation == "linear") return attr;
  const auto alg = activation == "relu"      ? dnnl::algorithm::eltwise_relu
                   : activation == "sigmoid" ? dnnl::algorithm::eltwise_logistic
                                             : dnnl::algorithm::eltwise_tanh;
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, alg, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  return attr;
}

void execute(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args) {
  const dnnl::memory::desc need = pd.scratchpad_desc();
  Converted pad;  // owns the scratchpad bytes until the primitive has finished
  if (need.get_size() > 0) {
    pad = scratch(need);
    args[DNNL_ARG_SCRATCHPAD] = pad.memory;
  }
  primitive.execute(stream(), args);
  stream().wait();
}

Converted to_layout(const dnnl::memory& user, const dnnl::memory::desc& wanted, const Reorder* reorder) {
  if (!reorder) return Converted{dnnl::memory(wanted, engine(), user.get_data_handle()), Tensor()};
  Converted c = scratch(wanted);
  execute(reorder->primitive, reorder->pd, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, c.memory}});
  return c;
}

Converted output_buffer(const dnnl::memory& user, const dnnl::memory::desc& wanted) {
  if (same_bytes(user.get_desc(), wanted)) return Converted{dnnl::memory(wanted, engine(), user.get_data_handle()), Tensor()};
  return scratch(wanted);
}

void finish_output(const Converted& out, const dnnl::memory& user, const Reorder* reorder) {
  if (!reorder) return;
  execute(reorder->primitive, reorder->pd, {{DNNL_ARG_FROM, out.memory}, {DNNL_ARG_TO, user}});
}

}  // namespace loom::onednn
