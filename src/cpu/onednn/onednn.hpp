#pragma once
// oneDNN 2.6 (v2 API) plumbing shared by the oneDNN-backed CPU kernels: one engine, a stream per
// thread, a bounded cache of primitives keyed by their complete description, and helpers to
// hand loom tensors to primitives (reordering to and from the layouts primitives prefer).
#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/internal_api.hpp"
#include "loom/backend/kernel.hpp"
#include "loom/tensor.hpp"

namespace loom::onednn {

dnnl::engine& engine();
dnnl::stream& stream();

// Number of primitives (and primitive descriptors) created so far: a training step must not
// create any after its first iteration.
LOOM_INTERNAL_API int64_t primitive_creations();

// A cache entry is built once per key (op kind, dims, formats, attributes, algorithm, thread
// count) and reused; least recently used entries are dropped beyond the capacity.
std::shared_ptr<void> cached(const std::string& key, const std::function<std::shared_ptr<void>()>& make);
template <class T>
std::shared_ptr<T> cached(const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
  return std::static_pointer_cast<T>(cached(key, [&]() -> std::shared_ptr<void> { return make(); }));
}
void count_creation();

// The part of a cache key every primitive shares: thread count.
std::string key_prefix(const char* kind);
std::string dims_key(const dnnl::memory::dims& dims);

// Primitive attributes with a user-managed scratchpad. oneDNN's default ("library") scratchpad is
// shared by all primitives and ties each primitive to the thread that created it; loom runs
// cached primitives from any thread (concurrent predict), so every execution brings its own.
dnnl::primitive_attr attributes();
// The same with a fused activation ("linear", "relu", "sigmoid" or "tanh") as an eltwise post-op.
dnnl::primitive_attr attributes(const std::string& activation);
// Runs a primitive with its scratchpad (if it needs one) and waits for it.
void execute(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args);

// Whether oneDNN serves a bfloat16 primitive only with a generic implementation (reference loops,
// or its gemm-based convolution: 5.6 ms for LeNet's first weight gradient, 11x its float32 JIT
// kernel). Callers treat that as declined and run float32 on widened copies.
bool generic_bf16(const dnnl::primitive_desc_base& pd);
// Whether oneDNN serves `pd` with a kernel for an older instruction set than this CPU's best
// (AVX2 code on an AVX-512 machine): a hint to try other layouts.
bool below_best_isa(const dnnl::primitive_desc_base& pd);
// Whether oneDNN serves `pd` with a JIT kernel for this CPU's best instruction set (not its
// reference loops or gemm-based fallbacks).
bool best_jit_kernel(const dnnl::primitive_desc_base& pd);
// Whether the layout pads dimension 1 (channels) to a block: 6 channels stored as 16.
bool pads_channels(const dnnl::memory::desc& d);
// Whether two layouts put every element at the same offset (NHWC and nChw16c with 16 channels):
// a tensor in one is already in the other, and no reorder is needed.
LOOM_INTERNAL_API bool same_bytes(const dnnl::memory::desc& a, const dnnl::memory::desc& b);
// Throws the dnnl::error a declined primitive gives (callers cache the refusal and repeat it).
[[noreturn]] void decline(const char* why);

// A loom tensor (contiguous, in `user` layout) wrapped as oneDNN memory.
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& user);

// Memory in the layout a primitive wants: `user`'s bytes (described as `wanted`), or a reorder of
// them into scratch storage. `reorder` is the cached reorder (null when none is needed).
struct Converted {
  dnnl::memory memory;
  Tensor storage;  // owns the reordered bytes, if any
};
struct Reorder {
  dnnl::reorder::primitive_desc pd;
  dnnl::reorder primitive;
};
Converted to_layout(const dnnl::memory& user, const dnnl::memory::desc& wanted, const Reorder* reorder);
// An output buffer in `wanted` layout; after the primitive ran, `finish` reorders it into the
// user tensor if the layouts differ.
Converted output_buffer(const dnnl::memory& user, const dnnl::memory::desc& wanted);
void finish_output(const Converted& out, const dnnl::memory& user, const Reorder* reorder);

// A reorder primitive from `from` to `to`, or null when the layouts are the same.
std::shared_ptr<Reorder> make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);

}  // namespace loom::onednn
