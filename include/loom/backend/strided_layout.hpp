#pragma once
/// \file
/// The iteration space of an elementwise kernel over up to four operands (operand 0 is the
/// output): broadcast inputs get stride 0, size-1 axes are dropped and adjacent axes merged where
/// every operand allows, so contiguous and row-broadcast cases become one or two long axes.
/// Shared by the CPU loops and the CUDA kernels; strides are in bytes.
#include <cstdint>
#include <initializer_list>

#include "loom/tensor.hpp"

namespace loom::backend {

/// The most operands (output included) one layout describes.
inline constexpr int kMaxOperands = 4;

/// The coalesced iteration space of an elementwise kernel.
struct StridedLayout {
  int nops = 0;                 ///< Operands described (output first).
  Shape shape;                  ///< Coalesced extents, innermost last, rank >= 1.
  Shape strides[kMaxOperands];  ///< Each operand's strides in bytes.
  int64_t numel = 0;            ///< Elements of the output.
};

/// Byte strides of `t` read as if broadcast to `out_shape` (stride 0 on broadcast axes).
inline Shape broadcast_byte_strides(const Tensor& t, const Shape& out_shape) {
  const int rank = out_shape.rank();
  const int offset = rank - t.rank();
  const auto esize = static_cast<int64_t>(dtype_size(t.dtype()));
  Shape s = Shape::filled(static_cast<size_t>(rank), 0);
  for (int i = 0; i < t.rank(); ++i) {
    s[static_cast<size_t>(i + offset)] = t.shape()[i] == 1 ? 0 : t.strides()[i] * esize;
  }
  return s;
}

/// The layout of `out` and `inputs` (broadcast to out's shape), coalesced.
inline StridedLayout strided_layout(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  StridedLayout L;
  L.nops = 1 + static_cast<int>(inputs.size());
  const Shape& shape = out.shape();
  L.numel = shape.numel();
  // Fast path: every operand contiguous with the output's shape is one flat run.
  bool flat = out.is_contiguous();
  for (const Tensor* t : inputs) flat = flat && t->shape() == shape && t->is_contiguous();
  if (flat) {
    L.shape.push_back(L.numel);
    L.strides[0].push_back(static_cast<int64_t>(dtype_size(out.dtype())));
    int k = 1;
    for (const Tensor* t : inputs) L.strides[k++].push_back(static_cast<int64_t>(dtype_size(t->dtype())));
    return L;
  }
  Shape full[kMaxOperands];
  full[0] = broadcast_byte_strides(out, shape);
  int k = 1;
  for (const Tensor* t : inputs) full[k++] = broadcast_byte_strides(*t, shape);
  // Drop size-1 axes, then merge axis i into the previous kept axis when all strides line up.
  for (int i = 0; i < shape.rank(); ++i) {
    const int64_t n = shape[i];
    if (n == 1) continue;
    bool merge = !L.shape.empty();
    for (int op = 0; op < L.nops && merge; ++op) merge = L.strides[op].back() == full[op][i] * n;
    if (merge) {
      L.shape[L.shape.size() - 1] *= n;
      for (int op = 0; op < L.nops; ++op) L.strides[op][L.strides[op].size() - 1] = full[op][i];
    } else {
      L.shape.push_back(n);
      for (int op = 0; op < L.nops; ++op) L.strides[op].push_back(full[op][i]);
    }
  }
  if (L.shape.empty()) {
    L.shape.push_back(1);
    for (int op = 0; op < L.nops; ++op) L.strides[op].push_back(0);
  }
  return L;
}

}  // namespace loom::backend
