// matmul on the CPU: oneDNN's matmul for bigger float32 GEMMs and for bfloat16 (accumulated in
// float32), OpenBLAS sgemm/dgemm for small float32 and for float64, a blocked loop for integers.
#include <cblas.h>

#include <cstring>
#include <string>
#include <vector>

#include "cpu/loops.hpp"
#include "cpu/onednn/onednn.hpp"
#include "cpu/wrapping.hpp"
#include "loom/backend/kernel.hpp"

namespace loom::cpu {
namespace {

// How one operand's last two axes are handed to BLAS without a copy: row-major with leading
// dimension `ld`, possibly transposed. `ok` is false when the strides fit neither layout.
struct MatrixLayout {
  bool ok = false;
  bool transposed = false;
  int64_t ld = 0;
};

MatrixLayout layout_of(const Tensor& t) {
  const int r = t.rank();
  const int64_t rows = t.shape()[static_cast<size_t>(r - 2)], cols = t.shape()[static_cast<size_t>(r - 1)];
  const int64_t s_row = t.strides()[static_cast<size_t>(r - 2)], s_col = t.strides()[static_cast<size_t>(r - 1)];
  if ((s_col == 1 || cols == 1) && s_row >= std::max<int64_t>(cols, 1)) return {true, false, s_row};
  if ((s_row == 1 || rows == 1) && s_col >= std::max<int64_t>(rows, 1)) return {true, true, s_col};
  if (rows <= 1 && cols <= 1) return {true, false, 1};
  return {};
}

// Offset (in elements) of batch `b` of an operand whose batch axes broadcast to `batch`.
struct BatchWalker {
  Shape batch;
  Shape strides;  // element strides per batch axis (0 where broadcast)
  int64_t offset(int64_t b) const {
    int64_t off = 0;
    for (int i = batch.rank() - 1; i >= 0; --i) {
      const int64_t n = batch[static_cast<size_t>(i)];
      off += (b % n) * strides[static_cast<size_t>(i)];
      b /= n;
    }
    return off;
  }
};

BatchWalker walker(const Tensor& t, const Shape& batch) {
  BatchWalker w{batch, Shape::filled(batch.size(), 0)};
  const int lead = batch.rank() - (t.rank() - 2);
  for (int i = 0; i < t.rank() - 2; ++i) {
    if (t.shape()[i] != 1) w.strides[static_cast<size_t>(i + lead)] = t.strides()[i];
  }
  return w;
}

// One GEMM on oneDNN's matmul: each operand's layout (transposed or not, leading dimension)
// becomes the strides of its memory descriptor, so nothing is copied. Used for bfloat16, and for
// float32 GEMMs big enough to repay a primitive (below).
struct OneDnnGemm {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

void onednn_gemm(dnnl::memory::data_type type, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a,
                 int64_t lda, const void* b, int64_t ldb, void* c, int64_t ldc) {
  using dnnl::memory;
  const memory::desc a_md({m, k}, type, ta ? memory::dims{1, lda} : memory::dims{lda, 1});
  const memory::desc b_md({k, n}, type, tb ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  const memory::desc c_md({m, n}, type, memory::dims{ldc, 1});
  const std::string key = onednn::key_prefix("matmul") + onednn::dims_key({m, n, k, lda, ldb, ldc, ta, tb}) +
                          (type == memory::data_type::bf16 ? "bf16" : "f32");
  auto e = onednn::cached<OneDnnGemm>(key, [&] {
    auto entry = std::make_shared<OneDnnGemm>();
    entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), onednn::attributes(), onednn::engine());
    entry->prim = dnnl::matmul(entry->pd);
    return entry;
  });
  const dnnl::engine& engine = onednn::engine();
  onednn::execute(e->prim, e->pd,
                  {{DNNL_ARG_SRC, memory(a_md, engine, const_cast<void*>(a))},
                   {DNNL_ARG_WEIGHTS, memory(b_md, engine, const_cast<void*>(b))},
                   {DNNL_ARG_DST, memory(c_md, engine, c)}});
}

// From about 100^3 multiply-adds, oneDNN's AVX-512 brgemm matmul runs float32 1.7-2.6x faster than
// OpenBLAS 0.3.21 where OpenBLAS takes its AVX2 kernels (Zen 4; bench/RESULTS.md); below that a
// primitive's call overhead (and, at 2 threads, its parallel region) outweighs the gain.
constexpr int64_t kOneDnnGemmMinWork = int64_t{1} << 20;

// Where OpenBLAS runs its own AVX-512 kernels (the cores it names SkylakeX, Cooperlake,
// SapphireRapids: Intel Xeons), its sgemm was 3-10% faster than oneDNN's matmul at 2048 and at
// par at 1024 (bench/RESULTS.md, sixth pass), while oneDNN stayed 1.4x faster at 256 (OpenBLAS's
// threading overhead): from 2^30 multiply-adds float32 GEMMs run on OpenBLAS there.
constexpr int64_t kOpenBlasAvx512MinWork = int64_t{1} << 30;
bool openblas_runs_avx512() {
  static const bool yes = [] {
    const std::string core = openblas_get_corename();
    return core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
  }();
  return yes;
}

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc) {
  const auto TA = ta ? CblasTrans : CblasNoTrans;
  const auto TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    const int64_t work = m * n * k;
    if (work >= kOneDnnGemmMinWork && !(work >= kOpenBlasAvx512MinWork && openblas_runs_avx512())) {
      try {
        onednn_gemm(dnnl::memory::data_type::f32, ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
        return;
      } catch (const dnnl::error&) {
        // declined (this should not happen for float32): OpenBLAS below
      }
    }
    cblas_sgemm(CblasRowMajor, TA, TB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c, static_cast<int>(ldc));
  } else if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(CblasRowMajor, TA, TB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), 0.0, c, static_cast<int>(ldc));
  } else {  // integers: i-k-j loop order keeps the inner loop contiguous in b and c
    for (int64_t i = 0; i < m; ++i) {
      T* crow = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) crow[j] = 0;
      for (int64_t p = 0; p < k; ++p) {
        const T av = ta ? a[p * lda + i] : a[i * lda + p];
        for (int64_t j = 0; j < n; ++j) {
          const T bv = tb ? b[j * ldb + p] : b[p * ldb + j];
          crow[j] = wrap_add(crow[j], wrap_mul(av, bv));
        }
      }
    }
  }
}

void matmul_kernel(const OpCall& call, std::vector<Tensor>& out) {
  Tensor a = call.inputs[0], b = call.inputs[1];
  bool ta = call.attrs.get_bool("transpose_a", call.name());
  bool tb = call.attrs.get_bool("transpose_b", call.name());
  Tensor& c = out[0];
  const int64_t m = c.shape()[static_cast<size_t>(c.rank() - 2)];
  const int64_t n = c.shape()[static_cast<size_t>(c.rank() - 1)];
  const int64_t k = ta ? a.shape()[static_cast<size_t>(a.rank() - 2)] : a.shape().back();
  if (c.numel() == 0) return;
  MatrixLayout la = layout_of(a), lb = layout_of(b);
  if (!la.ok) {
    a = a.contiguous();
    la = layout_of(a);
  }
  if (!lb.ok) {
    b = b.contiguous();
    lb = layout_of(b);
  }
  ta = ta != la.transposed;
  tb = tb != lb.transposed;
  const Shape batch(c.shape().data(), c.shape().size() - 2);
  const int64_t batches = batch.numel();
  if (k == 0) {
    std::memset(c.data_ptr(), 0, c.nbytes());  // all-zero bits are zero in every dtype
    return;
  }
  const BatchWalker wa = walker(a, batch), wb = walker(b, batch);
  if (a.dtype() == DType::BFloat16) {
    try {
      const auto* ap = static_cast<const BFloat16*>(a.data_ptr());
      const auto* bp = static_cast<const BFloat16*>(b.data_ptr());
      auto* cp = static_cast<BFloat16*>(c.data_ptr());
      for (int64_t i = 0; i < batches; ++i) {
        onednn_gemm(dnnl::memory::data_type::bf16, ta, tb, m, n, k, ap + wa.offset(i), la.ld, bp + wb.offset(i), lb.ld,
                    cp + i * m * n, n);
      }
    } catch (const dnnl::error&) {
      run_kernel_widened(matmul_kernel, call, out);
    }
    return;
  }
  visit_numeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* cp = static_cast<T*>(c.data_ptr());
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    // A batch of row-major A against one shared B is a single tall GEMM.
    bool b_shared = true;
    for (int64_t s : wb.strides) b_shared = b_shared && s == 0;
    const bool a_packed = !ta && a.is_contiguous() && a.rank() - 2 == batch.rank();
    if (batches > 1 && b_shared && a_packed) {
      gemm<T>(false, tb, batches * m, n, k, ap, la.ld, bp, lb.ld, cp, n);
      return;
    }
    for (int64_t i = 0; i < batches; ++i) {
      gemm<T>(ta, tb, m, n, k, ap + wa.offset(i), la.ld, bp + wb.offset(i), lb.ld, cp + i * m * n, n);
    }
  });
}

}  // namespace

LOOM_REGISTER_KERNELS(cpu_matmul) {
  register_kernel("matmul", DeviceType::CPU, matmul_kernel,
                  kFloatTypes | mask_of({DType::BFloat16, DType::Int32, DType::Int64}));
}

}  // namespace loom::cpu
