// Forward convolution of one-channel images (grayscale input layers such as LeNet's first), float32.
// oneDNN blocks output channels by 16, so LeNet's 6 channels run at 6/16 of its vector lanes and
// come back through a reorder of 2.7x the output's bytes. Here the output row of one image is
// flattened, (column, channel) -> column * C + channel as NHWC stores it, and computed in
// vectors over that flat index: with each input value repeated C times ("expanded" rows), tap
// (kh, kw) contributes expanded_row[oh + kh][j + kw * C] * filter_row[kh, kw][j], where the
// filter row repeats the tap's C weights along the row. Every lane is a wanted output (but for
// the row's last partial vector) and the result is written in place, in NHWC. Image by image, the
// expanded rows are built with one vector permutation per 16 floats; then column block by column
// block (kBlock floats of the flat row), every output row of the block is computed from the
// block's slice of them, which stays in the L1 cache; 3x3 and 5x5 filters stay in registers
// (register_rows). LeNet's first layer at 1 thread: ~1.0 ms, where oneDNN's kernel and reorder
// took 1.65 ms (keeping a copy of the expanded rows per kw, to align every load, measured no
// faster: the FMAs then ran at the core's peak, but building five copies cost as much).
#include "cpu/kernels_conv_one_channel.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/kernels_pool.hpp"
#include "cpu/loops.hpp"
#include "loom/creation.hpp"

namespace loom::cpu {
namespace {

constexpr int64_t kLanes = 16;                      // floats per vector
constexpr int64_t kBlockVectors = 2;                // vectors of one output row computed together
constexpr int64_t kBlock = kLanes * kBlockVectors;  // floats of one output row computed together
constexpr int kRowsTogether = 4;                    // output rows sharing each filter load

using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));
using Lanes = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));
using Indices = int64_t __attribute__((vector_size(kLanes * sizeof(int64_t))));

// By reference: a vector passed by value changes the ABI between the clones' instruction sets.
inline void load(Vec& v, const float* p) { std::memcpy(&v, p, sizeof v); }
inline void store(float* p, const Vec& v) { std::memcpy(p, &v, sizeof v); }
// Lane i of out is x[pick[i]]: one vector permutation with GCC; clang (the sanitizer build), which
// has no shuffle by run-time indices, takes a loop.
inline void permute(Vec& out, const Vec& x, const Lanes& pick) {
#if defined(__clang__)
  for (int i = 0; i < kLanes; ++i) out[i] = x[pick[i]];
#else
  out = __builtin_shuffle(x, pick);
#endif
}

struct Layout {
  int64_t c, k_h, k_w, out_h;
  int64_t valid;         // floats of an output row: out_w * c
  int64_t row;           // the same rounded up to whole blocks
  int64_t rows;          // input rows of one image with the padding: in_h + pad_top + pad_bottom
  int64_t padded_width;  // one input row with its padding, plus room for the last vector's reads
  int64_t chunks;        // vectors of an expanded row: every column block's reads, kBlock + (k_w - 1) * c past it
  int64_t width;         // floats of an expanded row: chunks * kLanes
};

Layout layout_of(const ops::Conv2DGeometry& g) {
  Layout l;
  l.c = g.c_out;
  l.k_h = g.win.k_h;
  l.k_w = g.win.k_w;
  l.out_h = g.win.out_h;
  l.valid = g.win.out_w * g.c_out;
  l.row = (l.valid + kBlock - 1) / kBlock * kBlock;
  l.rows = g.win.in_h + g.win.pad_top + g.win.pad_bottom;
  l.padded_width = g.win.in_w + g.win.pad_left + g.win.pad_right + l.row / l.c + kLanes;
  l.chunks = (l.row + (l.k_w - 1) * l.c + kLanes - 1) / kLanes;
  l.width = l.chunks * kLanes;
  return l;
}

// Vector k of an expanded row (floats [16k, 16k + 16), each input value repeated C times) is a
// permutation of the 16 input values from first[k] on: lane i takes value (16k + i) / C.
// (Plain int32 storage: a vector type as a template argument loses its alignment.)
struct Expansion {
  std::vector<int64_t> first;
  std::vector<int32_t> pick;  // [chunks][kLanes]
  explicit Expansion(const Layout& l) : first(static_cast<size_t>(l.chunks)), pick(static_cast<size_t>(l.chunks * kLanes)) {
    for (int64_t k = 0; k < l.chunks; ++k) {
      first[static_cast<size_t>(k)] = k * kLanes / l.c;
      for (int64_t i = 0; i < kLanes; ++i) {
        pick[static_cast<size_t>(k * kLanes + i)] = static_cast<int32_t>((k * kLanes + i) / l.c - k * kLanes / l.c);
      }
    }
  }
};

// Output rows [oh, oh + R) of one image, columns [j0, j0 + kBlock) of the flat row, from the
// image's expanded rows (rows x width floats).
template <int R>
inline void block_rows(const Layout& l, const float* expanded, const float* filter_rows, const float* bias_row,
                       bool relu, int64_t oh, int64_t j0, float* out[R]) {
  Vec acc[R][kBlockVectors];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kBlockVectors; ++v) load(acc[r][v], bias_row + j0 + v * kLanes);
  }
  for (int64_t kh = 0; kh < l.k_h; ++kh) {
    for (int64_t kw = 0; kw < l.k_w; ++kw) {
      const float* w = filter_rows + (kh * l.k_w + kw) * l.row + j0;
      Vec wv[kBlockVectors];
      for (int v = 0; v < kBlockVectors; ++v) load(wv[v], w + v * kLanes);
      const float* x = expanded + (oh + kh) * l.width + j0 + kw * l.c;
      for (int r = 0; r < R; ++r) {
        for (int v = 0; v < kBlockVectors; ++v) {
          Vec xv;
          load(xv, x + r * l.width + v * kLanes);
          acc[r][v] += xv * wv[v];
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kBlockVectors; ++v) {
      if (relu) acc[r][v] = acc[r][v] < Vec{} ? Vec{} : acc[r][v];  // NaN stays NaN, as relu
      store(out[r] + v * kLanes, acc[r][v]);
    }
  }
}

// Calls f(x, r, kh, kw) for every output row r of the R rows from oh and every tap (kh, kw) of its
// window, x being the expanded input vector the tap multiplies at column j0: each expanded row is
// loaded once per kw for all the rows it feeds. Unrolled whole, so that f's indices are constants
// (its filters and sums can stay in registers).
template <int KH, int KW, int R, class F>
inline void for_taps_of_rows(const Layout& l, const float* expanded, int64_t oh, int64_t j0, F&& f) {
#pragma GCC unroll 16
  for (int i = 0; i < R + KH - 1; ++i) {
    const float* x = expanded + (oh + i) * l.width + j0;
#pragma GCC unroll 8
    for (int kw = 0; kw < KW; ++kw) {
      Vec xv;
      load(xv, x + kw * l.c);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const int kh = i - r;
        if (kh >= 0 && kh < KH) f(xv, r, kh, kw);
      }
    }
  }
}

// Filters held in registers, for 3x3 and 5x5 filters: one vector of columns per block, every
// tap's filter vector loaded once per block, and the expanded rows read through for_taps_of_rows
// -- the FMAs no longer wait on a filter and an input load each. The sums run in the same order
// as block_rows' (kh, then kw).
template <int KH, int KW, int R>
inline void register_rows(const Layout& l, const float* expanded, const Vec (&w)[KH][KW], const float* bias_row, bool relu,
                          int64_t oh, int64_t j0, float* out[R]) {
  Vec acc[R];
  for (int r = 0; r < R; ++r) load(acc[r], bias_row + j0);
  for_taps_of_rows<KH, KW, R>(l, expanded, oh, j0, [&](const Vec& x, int r, int kh, int kw) { acc[r] += x * w[kh][kw]; });
  for (int r = 0; r < R; ++r) {
    if (relu) acc[r] = acc[r] < Vec{} ? Vec{} : acc[r];  // NaN stays NaN, as relu
    store(out[r], acc[r]);
  }
}

// Writes columns [j0, j0 + Width) of the output rows of one image, R rows at a time through
// compute(rows, oh, out): whole blocks straight into y, the last partial block through `tail`
// (writing past the row would overrun the last image).
template <int R, int64_t Width, class Compute>
inline void output_columns(const Layout& l, int64_t j0, float* y_image, float* tail, Compute&& compute) {
  const bool whole = j0 + Width <= l.valid;
  int64_t oh = 0;
  const auto rows = [&](auto r_count) {
    constexpr int Rows = decltype(r_count)::value;
    float* out[Rows];
    for (int r = 0; r < Rows; ++r) out[r] = whole ? y_image + (oh + r) * l.valid + j0 : tail + r * Width;
    compute(r_count, oh, out);
    if (!whole) {
      for (int r = 0; r < Rows; ++r) std::memcpy(y_image + (oh + r) * l.valid + j0, tail + r * Width, (l.valid - j0) * sizeof(float));
    }
  };
  for (; oh + R <= l.out_h; oh += R) rows(std::integral_constant<int, R>{});
  for (; oh < l.out_h; ++oh) rows(std::integral_constant<int, 1>{});
}

// All output columns of one image: through register_rows for KH x KW filters, R rows at a time.
template <int KH, int KW, int R>
inline void register_columns(const Layout& l, const float* expanded, const float* filter_rows, const float* bias_row,
                             bool relu, float* y_image, float* tail) {
  for (int64_t j0 = 0; j0 < l.valid; j0 += kLanes) {
    Vec w[KH][KW];
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) load(w[kh][kw], filter_rows + (kh * KW + kw) * l.row + j0);
    }
    output_columns<R, kLanes>(l, j0, y_image, tail, [&](auto r_count, int64_t oh, float** out) {
      register_rows<KH, KW, decltype(r_count)::value>(l, expanded, w, bias_row, relu, oh, j0, out);
    });
  }
}

// All output columns of one image for other filter sizes, kBlock floats and kRowsTogether rows at
// a time.
inline void general_columns(const Layout& l, const float* expanded, const float* filter_rows, const float* bias_row,
                            bool relu, float* y_image, float* tail) {
  for (int64_t j0 = 0; j0 < l.row; j0 += kBlock) {
    output_columns<kRowsTogether, kBlock>(l, j0, y_image, tail, [&](auto r_count, int64_t oh, float** out) {
      block_rows<decltype(r_count)::value>(l, expanded, filter_rows, bias_row, relu, oh, j0, out);
    });
  }
}

// Floats rounded up to whole vectors, so that every scratch area starts aligned (the CPU
// allocator's blocks are).
inline int64_t whole_vectors(int64_t floats) { return (floats + kLanes - 1) / kLanes * kLanes; }

// One thread's scratch: an image's padded rows (zero where padding), its expanded rows, and the
// last partial output block.
struct Scratch {
  int64_t padded, expanded, tail;
  explicit Scratch(const Layout& l)
      : padded(whole_vectors(l.rows * l.padded_width)), expanded(whole_vectors(l.rows * l.width)),
        tail(std::max<int64_t>(kRowsTogether * kBlock, 8 * kLanes)) {}
  int64_t size() const { return padded + expanded + tail; }
};

// Expands every row of a padded image.
inline void expand_image(const Layout& l, const Expansion& e, const float* padded, float* expanded) {
  for (int64_t k = 0; k < l.chunks; ++k) {
    Lanes pick;
    std::memcpy(&pick, e.pick.data() + k * kLanes, sizeof pick);
    const float* from = padded + e.first[static_cast<size_t>(k)];
    for (int64_t h = 0; h < l.rows; ++h) {
      Vec x;
      load(x, from + h * l.padded_width);
      Vec expanded_x;
      permute(expanded_x, x, pick);
      store(expanded + h * l.width + k * kLanes, expanded_x);
    }
  }
}

// Copies image n of x into the padded rows (whose padding stays zero) and expands them.
inline void expand_input(const ops::Conv2DGeometry& g, const Layout& l, const Expansion& e, const float* x, int64_t n,
                         float* padded, float* expanded) {
  for (int64_t h = 0; h < g.win.in_h; ++h) {
    std::memcpy(padded + (h + g.win.pad_top) * l.padded_width + g.win.pad_left, x + (n * g.win.in_h + h) * g.win.in_w,
                g.win.in_w * sizeof(float));
  }
  expand_image(l, e, padded, expanded);
}

// Images [n0, n1), with one thread's scratch. With `pool`, each image goes to the scratch's image
// area, still in cache, and is pooled from there: its values are never written to memory.
LOOM_CPU_CLONES void one_channel_images(const ops::Conv2DGeometry& g, const Layout& l, const Expansion& e,
                                        const float* x, const float* filter_rows, const float* bias_row, bool relu,
                                        float* y, const MaxPoolOutput* pool, int64_t n0, int64_t n1, float* scratch) {
  const Scratch areas(l);
  float* padded = scratch;
  float* expanded = padded + areas.padded;
  float* tail = expanded + areas.expanded;
  float* image = tail + areas.tail;
  for (int64_t n = n0; n < n1; ++n) {
    expand_input(g, l, e, x, n, padded, expanded);
    float* y_image = pool ? image : y + n * l.out_h * l.valid;
    if (l.k_h == 5 && l.k_w == 5) register_columns<5, 5, 4>(l, expanded, filter_rows, bias_row, relu, y_image, tail);
    else if (l.k_h == 3 && l.k_w == 3) register_columns<3, 3, 8>(l, expanded, filter_rows, bias_row, relu, y_image, tail);
    else general_columns(l, expanded, filter_rows, bias_row, relu, y_image, tail);
    if (pool) max_pool_2x2_image(image, pool->input, pool->window, n, pool->y, pool->argmax);
  }
}

// ---------------------------------------------------------------- weight gradient
// df[kh, kw, c] = sum over n, oh, ow of x[n, oh + kh, ow + kw] * dy[n, oh, ow, c]. Lane j of the
// flat output row (column j / C, channel j % C) accumulates, per tap, expanded_row[oh + kh][j +
// kw * C] * dy_row[oh][j]; each channel's lanes are added up at the end. Per column vector and
// group of R output rows, the R gradient vectors and every tap's sums stay in registers and each
// expanded input row is loaded once per kw (for_taps_of_rows). For fewer than 16 channels, which
// oneDNN pads to 16: LeNet's first layer at 1 thread 1.23 -> 1.02 ms, at 2 threads 0.62 -> 0.55 ms.

// Adds output rows [oh, oh + R) of one column vector into the taps' sums; dy_rows: the rows'
// gradient vectors, `stride` floats apart.
template <int KH, int KW, int R>
inline void filter_grad_rows(const Layout& l, const float* expanded, const float* dy_rows, int64_t stride, int64_t oh,
                             int64_t j0, Vec (&acc)[KH][KW]) {
  Vec g[R];
  for (int r = 0; r < R; ++r) load(g[r], dy_rows + r * stride);
  for_taps_of_rows<KH, KW, R>(l, expanded, oh, j0, [&](const Vec& x, int r, int kh, int kw) { acc[kh][kw] += x * g[r]; });
}

// Adds one image into sums ([column vector][KH][KW] vectors), R output rows at a time, from its
// gradient rows copied to `rows` (l.row floats apart, zero past the valid ones): sequential reads
// of dy (column vector by column vector, every load of dy itself would be a cache miss), and the
// last partial vector reads zeros.
template <int KH, int KW, int R>
inline void filter_grad_image(const Layout& l, const float* expanded, const float* rows, float* sums) {
  for (int64_t j0 = 0; j0 < l.valid; j0 += kLanes) {
    float* sum = sums + j0 * KH * KW;  // (j0 / kLanes) * KH * KW vectors in
    Vec acc[KH][KW];
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) load(acc[kh][kw], sum + (kh * KW + kw) * kLanes);
    }
    int64_t oh = 0;
    for (; oh + R <= l.out_h; oh += R) filter_grad_rows<KH, KW, R>(l, expanded, rows + oh * l.row + j0, l.row, oh, j0, acc);
    for (; oh < l.out_h; ++oh) filter_grad_rows<KH, KW, 1>(l, expanded, rows + oh * l.row + j0, l.row, oh, j0, acc);
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) store(sum + (kh * KW + kw) * kLanes, acc[kh][kw]);
    }
  }
}

// Images [n0, n1) into one thread's sums, with its scratch: the forward kernel's, then the
// gradient rows of one image.
LOOM_CPU_CLONES void one_channel_filter_grad_images(const ops::Conv2DGeometry& g, const Layout& l, const Expansion& e,
                                                    const float* x, const float* dy, int64_t n0, int64_t n1,
                                                    float* scratch, float* sums) {
  const Scratch areas(l);
  float* padded = scratch;
  float* expanded = padded + areas.padded;
  float* rows = expanded + areas.expanded + areas.tail;
  for (int64_t n = n0; n < n1; ++n) {
    expand_input(g, l, e, x, n, padded, expanded);
    for (int64_t oh = 0; oh < l.out_h; ++oh) {
      std::memcpy(rows + oh * l.row, dy + (n * l.out_h + oh) * l.valid, l.valid * sizeof(float));
    }
    if (l.k_h == 5) filter_grad_image<5, 5, 4>(l, expanded, rows, sums);
    else filter_grad_image<3, 3, 8>(l, expanded, rows, sums);
  }
}

// ---------------------------------------------------------------- weight gradient from a pooled gradient
// Under 2x2 max pooling at stride 2 the convolution's output gradient is the pooled gradient dy
// at each window's maximum and zero at its three other positions. Rather than scatter it to
// memory (VGG-small's first layer: 12.8 MB per step, zeroed then scattered) and take the weight
// gradient of that, each window's four positions q take dy masked to the channels whose maximum
// is at q, times the one input value each tap reads there, broadcast:
// df[kh, kw, c] += sum over q of (argmax[c] at q ? dy[c] : 0) * x[oh_q + kh, ow_q + kw].
// 16 channels per vector and every tap's sums in registers; the image, padded, in the L1 cache.

struct PooledGradient {
  const float* dy;         // (N, out_h, out_w, C)
  const int64_t* argmax;   // flat indices into the convolution's output (N, conv_h, conv_w, C)
  int64_t out_h, out_w;    // the pooling's output
  int64_t conv_h, conv_w;  // the convolution's output
  int64_t c;
};

// Adds image n into sums ([channel vector][KH][KW] vectors) from its padded input (`width` floats
// a row).
template <int KH, int KW>
inline void pooled_filter_grad_image(const PooledGradient& p, const float* padded, int64_t width, int64_t n, float* sums) {
  const int32_t right = static_cast<int32_t>(p.c), down = static_cast<int32_t>(p.conv_w * p.c);  // argmax steps
  Indices lane;
  for (int i = 0; i < kLanes; ++i) lane[i] = i;
  for (int64_t c0 = 0; c0 < p.c; c0 += kLanes) {
    float* sum = sums + c0 * KH * KW;  // (c0 / kLanes) * KH * KW vectors in
    Vec acc[KH][KW];
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) load(acc[kh][kw], sum + (kh * KW + kw) * kLanes);
    }
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t at = ((n * p.out_h + oh) * p.out_w + ow) * p.c + c0;
        const int64_t corner = ((n * p.conv_h + 2 * oh) * p.conv_w + 2 * ow) * p.c + c0;
        Vec dy;
        load(dy, p.dy + at);
        Indices index;
        std::memcpy(&index, p.argmax + at, sizeof index);
        // Each channel's maximum relative to its window's top-left position (of that channel).
        const Lanes where = __builtin_convertvector(index - (lane + corner), Lanes);
        const float* x = padded + 2 * oh * width + 2 * ow;
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
          const Vec masked = where == (q / 2) * down + (q % 2) * right ? dy : Vec{};
          const float* xq = x + (q / 2) * width + q % 2;
#pragma GCC unroll 5
          for (int kh = 0; kh < KH; ++kh) {
#pragma GCC unroll 5
            for (int kw = 0; kw < KW; ++kw) acc[kh][kw] += masked * xq[kh * width + kw];
          }
        }
      }
    }
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) store(sum + (kh * KW + kw) * kLanes, acc[kh][kw]);
    }
  }
}

// Images [n0, n1) into one thread's sums, each image first copied into `padded` (rows of `width`
// floats, whose padding stays zero).
LOOM_CPU_CLONES void pooled_filter_grad_images(const ops::Conv2DGeometry& g, const PooledGradient& p, const float* x,
                                               int64_t width, int64_t n0, int64_t n1, float* padded, float* sums) {
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t h = 0; h < g.win.in_h; ++h) {
      std::memcpy(padded + (h + g.win.pad_top) * width + g.win.pad_left, x + (n * g.win.in_h + h) * g.win.in_w,
                  g.win.in_w * sizeof(float));
    }
    if (g.win.k_h == 5) pooled_filter_grad_image<5, 5>(p, padded, width, n, sums);
    else pooled_filter_grad_image<3, 3>(p, padded, width, n, sums);
  }
}

// df[tap, c] from every thread's sums (`parts` of them, `stride` floats apart; [vector][tap][lane]
// over `lanes` flat lanes, lane j holding channel j % c), added up in double.
void add_up_sums(const float* first, int parts, int64_t stride, int64_t lanes, int64_t taps, int64_t c, float* df) {
  std::vector<double> total(static_cast<size_t>(taps * c), 0.0);
  for (int p = 0; p < parts; ++p) {
    const float* sums = first + p * stride;
    for (int64_t j = 0; j < lanes; ++j) {
      const float* lane = sums + (j / kLanes) * taps * kLanes + j % kLanes;
      for (int64_t t = 0; t < taps; ++t) total[static_cast<size_t>(t * c + j % c)] += lane[t * kLanes];
    }
  }
  for (size_t k = 0; k < total.size(); ++k) df[k] = static_cast<float>(total[k]);
}

// Whether the one-channel kernels serve this geometry: float32, one input channel, at most 16
// output channels, stride and dilation 1, and an image's expanded rows in the L1 or L2 cache.
bool one_channel_geometry(const ops::Conv2DGeometry& g, DType dtype) {
  if (dtype != DType::Float32 || g.c_in != 1 || g.groups != 1 || g.c_out > 16 || g.win.stride_h != 1 ||
      g.win.stride_w != 1 || g.win.dil_h != 1 || g.win.dil_w != 1) {
    return false;
  }
  const Layout l = layout_of(g);
  return l.rows * l.width <= (1 << 14);
}

}  // namespace

bool one_channel_conv_applies(const ops::Conv2DGeometry& g, DType dtype, const std::string& activation) {
  return (activation == "linear" || activation == "relu") && one_channel_geometry(g, dtype);
}

bool one_channel_filter_grad_applies(const ops::Conv2DGeometry& g, DType dtype) {
  // With 16 channels oneDNN's kernel uses every lane and is the faster (3x3: 0.52 against 1.1 ms).
  const bool square = (g.win.k_h == 3 && g.win.k_w == 3) || (g.win.k_h == 5 && g.win.k_w == 5);
  return square && g.c_out < 16 && one_channel_geometry(g, dtype);
}

void one_channel_conv(const ops::Conv2DGeometry& g, const float* x, const float* filter, const float* bias,
                      bool relu, float* y, const MaxPoolOutput* pool) {
  const Layout l = layout_of(g);
  const Expansion e(l);
  // The filter's C weights of each tap (HWIO, I = 1: filter[tap * C + c]) repeated along a row,
  // zero past the valid outputs; the bias likewise. All memory comes from the allocator here,
  // outside the parallel region (where an allocation failure could not be reported): the rows,
  // then one scratch per thread, zeroed for the padding.
  const int64_t taps = l.k_h * l.k_w;
  const Tensor rows = zeros({(taps + 1) * l.row}, DType::Float32);
  float* filter_rows = static_cast<float*>(rows.data_ptr());
  float* bias_row = filter_rows + taps * l.row;
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t j = 0; j < l.valid; ++j) filter_rows[t * l.row + j] = filter[t * l.c + j % l.c];
  }
  for (int64_t j = 0; j < l.valid && bias; ++j) bias_row[j] = bias[j % l.c];
  const int parts = detail::threads_for(g.n * l.out_h * l.valid * taps, kExpensiveGrain);
  const int64_t per_part = Scratch(l).size() + (pool ? whole_vectors(l.out_h * l.valid) : 0);
  const Tensor scratch = zeros({parts * per_part}, DType::Float32);
  float* scratch_data = static_cast<float*>(scratch.data_ptr());
  parallel_chunks(parts, parts, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      one_channel_images(g, l, e, x, filter_rows, bias_row, relu, y, pool, g.n * p / parts, g.n * (p + 1) / parts,
                         scratch_data + p * per_part);
    }
  });
}

void one_channel_filter_grad(const ops::Conv2DGeometry& g, const float* x, const float* dy, float* df) {
  const Layout l = layout_of(g);
  const Expansion e(l);
  const int64_t taps = l.k_h * l.k_w, sums_size = (l.valid + kLanes - 1) / kLanes * taps * kLanes;
  const int parts = detail::threads_for(g.n * l.out_h * l.valid * taps, kExpensiveGrain);
  // Per thread: the scratch of the forward kernel, one image's gradient rows, then its sums. From
  // the allocator, before the parallel region; zeroed (the padding, the rows' tails and the sums).
  const int64_t sums_at = Scratch(l).size() + l.out_h * l.row, per_part = sums_at + sums_size;
  const Tensor scratch = zeros({parts * per_part}, DType::Float32);
  float* scratch_data = static_cast<float*>(scratch.data_ptr());
  parallel_chunks(parts, parts, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* mine = scratch_data + p * per_part;
      one_channel_filter_grad_images(g, l, e, x, dy, g.n * p / parts, g.n * (p + 1) / parts, mine, mine + sums_at);
    }
  });
  add_up_sums(scratch_data + sums_at, parts, per_part, l.valid, taps, l.c, df);
}

bool one_channel_pooled_filter_grad_applies(const ops::Conv2DGeometry& g, DType dtype, const ops::Window2D& pool) {
  const bool square = (g.win.k_h == 3 && g.win.k_w == 3) || (g.win.k_h == 5 && g.win.k_w == 5);
  return dtype == DType::Float32 && g.c_in == 1 && g.groups == 1 && g.c_out % kLanes == 0 && square && g.win.stride_h == 1 &&
         g.win.stride_w == 1 && g.win.dil_h == 1 && g.win.dil_w == 1 &&
         max_pool_is_whole_2x2_stride_2(Shape{g.n, g.win.out_h, g.win.out_w, g.c_out}, pool);
}

void one_channel_pooled_filter_grad(const ops::Conv2DGeometry& g, const ops::Window2D& pool, const float* x, const float* dy,
                                    const int64_t* argmax, float* df) {
  const PooledGradient p{dy, argmax, pool.out_h, pool.out_w, g.win.out_h, g.win.out_w, g.c_out};
  const int64_t width = g.win.in_w + g.win.pad_left + g.win.pad_right;
  const int64_t taps = g.win.k_h * g.win.k_w, sums_size = g.c_out * taps;
  const int parts = detail::threads_for(g.n * pool.out_h * pool.out_w * g.c_out * 4 * taps, kExpensiveGrain);
  // Per thread: the padded image, then the sums; zeroed (the padding and the sums), from the
  // allocator before the parallel region.
  const int64_t sums_at = whole_vectors((g.win.in_h + g.win.pad_top + g.win.pad_bottom) * width), per_part = sums_at + sums_size;
  const Tensor scratch = zeros({parts * per_part}, DType::Float32);
  float* scratch_data = static_cast<float*>(scratch.data_ptr());
  parallel_chunks(parts, parts, [&](int64_t p0, int64_t p1) {
    for (int64_t part = p0; part < p1; ++part) {
      float* mine = scratch_data + part * per_part;
      pooled_filter_grad_images(g, p, x, width, g.n * part / parts, g.n * (part + 1) / parts, mine, mine + sums_at);
    }
  });
  add_up_sums(scratch_data + sums_at, parts, per_part, g.c_out, taps, g.c_out, df);
}

}  // namespace loom::cpu
