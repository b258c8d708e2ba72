//===- Blas.cpp - the GEMM entry generated code calls, on OpenBLAS --------===//
//
// Newton–Schulz, on the weight matrices (Muon) and per token, spends most
// of a step in two self-products: the Gram X Xᵀ and its square, which the
// compiler writes as G Gᵀ since G is symmetric. Both are C += A Aᵀ for one
// operand A, which `ssyrk` computes in half the multiply-adds of a GEMM.
// They are recognised here, from the operands' addresses and transposes.
//
// OpenBLAS always runs single-threaded here, on the kernels BlasCore.h
// picks; the runtime's thread pool (Parallel.cpp) runs a stack's entries,
// or the parts of one large product, in parallel.
//
//===----------------------------------------------------------------------===//

#include "Sgemm.h"

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/BlasCore.h"
#include "mstream/Runtime/Parallel.h"

#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <optional>

namespace {

/// Visits the pairs (i, j), j < i, of an n x n matrix with j in the columns
/// [begin, end), in 32 x 32 tiles, so that both (i, j) and (j, i) are read
/// from cache; stops when `visit` returns false.
template <typename Visit>
bool forLowerTriangle(int64_t n, int64_t begin, int64_t end, Visit visit) {
  constexpr int64_t kTile = 32;
  for (int64_t tj = begin; tj < end; tj += kTile)
    for (int64_t ti = tj; ti < n; ti += kTile)
      for (int64_t i = ti; i < std::min(ti + kTile, n); ++i)
        for (int64_t j = tj; j < std::min({tj + kTile, end, i}); ++j)
          if (!visit(i, j))
            return false;
  return true;
}

bool isSymmetric(const float *matrix, int64_t n, int64_t ld) {
  return forLowerTriangle(n, 0, n, [&](int64_t i, int64_t j) {
    return matrix[i * ld + j] == matrix[j * ld + i];
  });
}

/// The usual output, a fresh zero fill, is symmetric; a contiguous scan
/// shows it faster than comparing it with its transpose.
bool isZeroOrSymmetric(const float *matrix, int64_t n, int64_t ld) {
  bool zero = true;
  for (int64_t i = 0; i < n && zero; ++i)
    zero = std::all_of(matrix + i * ld, matrix + i * ld + n,
                       [](float value) { return value == 0.0f; });
  return zero || isSymmetric(matrix, n, ld);
}

/// A product of one operand with its transpose, C = beta C + X Xᵀ for
/// X = op(A) (m x k): Aᵀ A or A Aᵀ.
struct SelfProduct {
  bool transposed; // X = Aᵀ
  int64_t m, k;
  const float *A;
  int64_t lda;
  float beta;
  float *C;
  int64_t ldc;

  /// Rows [begin, end) of X, as BLAS reads them.
  const float *rows(int64_t begin) const {
    return transposed ? A + begin : A + begin * lda;
  }

  /// Rows [begin, end) of C's upper triangle (ssyrk on the diagonal block,
  /// a GEMM right of it) and the columns [begin, end) of its lower one.
  void run(int64_t begin, int64_t end) const {
    CBLAS_TRANSPOSE trans = transposed ? CblasTrans : CblasNoTrans;
    cblas_ssyrk(CblasRowMajor, CblasUpper, trans, end - begin, k, 1.0f,
                rows(begin), lda, beta, C + begin * ldc + begin, ldc);
    if (end < m)
      cblas_sgemm(CblasRowMajor, trans, transposed ? CblasNoTrans : CblasTrans,
                  end - begin, m - end, k, 1.0f, rows(begin), lda, rows(end),
                  lda, beta, C + begin * ldc + end, ldc);
    forLowerTriangle(m, begin, end, [&](int64_t i, int64_t j) {
      C[i * ldc + j] = C[j * ldc + i];
      return true;
    });
  }
};

/// Below this many multiply-adds sgemm's small-matrix kernel beats ssyrk,
/// which packs its operand first (one core, OpenBLAS 0.3.21: 64 x 64 x 64
/// 4.6 against 5.4 us, 64 x 64 x 8 0.9 against 2.0 us; from 96 x 96 x 96
/// on, ssyrk is faster).
constexpr int64_t kSelfProductMultiplyAdds = int64_t(1) << 20;

/// The product as a SelfProduct when it is one that ssyrk can compute and
/// large enough to gain from it: C symmetric or overwritten (beta 0) and
/// sharing no memory with A.
std::optional<SelfProduct> asSelfProduct(bool transA, bool transB, int64_t m,
                                         int64_t n, int64_t k, const float *A,
                                         int64_t lda, const float *B,
                                         int64_t ldb, float beta, float *C,
                                         int64_t ldc) {
  if (A != B || lda != ldb || transA == transB || m != n ||
      m * n * k < kSelfProductMultiplyAdds)
    return std::nullopt;
  const float *endA = A + (transA ? k : m) * lda;
  if (C < endA && A < C + m * ldc)
    return std::nullopt;
  if (beta != 0.0f && !isZeroOrSymmetric(C, m, ldc))
    return std::nullopt;
  return SelfProduct{transA, m, k, A, lda, beta, C, ldc};
}

/// One operand of a batched call: entry i starts at data + i * stride.
template <typename T> struct Strided {
  T *data;
  int64_t ld, stride;
  T *entry(int64_t i) const { return data + i * stride; }
};

struct Batch {
  bool transA, transB;
  int64_t m, n, k;
  Strided<const float> A, B;
  Strided<float> C;
  float beta;

  std::optional<SelfProduct> selfProduct(int64_t i) const {
    return asSelfProduct(transA, transB, m, n, k, A.entry(i), A.ld, B.entry(i),
                         B.ld, beta, C.entry(i), C.ld);
  }

  /// Rows [begin, end) of entry i's C, or its columns when `columns`.
  void gemm(int64_t i, bool columns, int64_t begin, int64_t end) const {
    const float *a = A.entry(i), *b = B.entry(i);
    float *c = C.entry(i);
    int64_t rows = m, cols = n;
    if (columns) {
      b += transB ? begin * B.ld : begin;
      c += begin;
      cols = end - begin;
    } else {
      a += transA ? begin : begin * A.ld;
      c += begin * C.ld;
      rows = end - begin;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, rows, cols, k, 1.0f, a,
                A.ld, b, B.ld, beta, c, C.ld);
  }
};

/// A part of a cut product does at least this many multiply-adds (about
/// 10 us on one core): waking a thread for less costs more than it saves.
constexpr int64_t kPartMultiplyAdds = int64_t(1) << 20;

/// One product cut into parts, at most one per pool thread.
struct Parts {
  const Batch *g;
  int64_t entry, count;
  std::optional<SelfProduct> self;
  bool columns; // of C, else rows
  int64_t size; // of the cut dimension

  /// Part p's range. A self product's row r costs m - r multiply-adds per
  /// k, so its cuts give each part the same area of the upper triangle.
  std::pair<int64_t, int64_t> range(int64_t p) const {
    auto cut = [&](int64_t q) {
      double f = double(q) / double(count);
      if (self)
        f = 1.0 - std::sqrt(1.0 - f);
      return q == count ? size : int64_t(f * double(size));
    };
    return {cut(p), cut(p + 1)};
  }
};

void multiplyParts(void *context, int64_t begin, int64_t end) {
  const Parts &parts = *static_cast<const Parts *>(context);
  for (int64_t p = begin; p < end; ++p) {
    auto [from, to] = parts.range(p);
    if (from == to)
      continue;
    if (parts.self)
      parts.self->run(from, to);
    else
      parts.g->gemm(parts.entry, parts.columns, from, to);
  }
}

/// Entries [begin, end) of a batch, each whole on the calling thread.
void multiplyEntries(void *context, int64_t begin, int64_t end) {
  const Batch &g = *static_cast<const Batch *>(context);
  for (int64_t i = begin; i < end; ++i) {
    Parts whole{&g, i, 1, g.selfProduct(i), /*columns=*/false, g.m};
    multiplyParts(&whole, 0, 1);
  }
}

/// Entry i on the pool's threads, cut along C's longer side into parts of
/// at least kPartMultiplyAdds and two rows (columns), so that OpenBLAS's own
/// threads never run: they spin after each call and took a core from the
/// pool's next token loop (soap's fused step was 16% slower outside its
/// GEMMs that way).
void multiplySplit(const Batch &g, int64_t i, int threads) {
  int64_t size = std::max(g.m, g.n);
  int64_t count = std::min<int64_t>(
      {threads, g.m * g.n * g.k / kPartMultiplyAdds, size / 2});
  Parts parts{&g,        i,   std::max<int64_t>(count, 1), g.selfProduct(i),
              g.n > g.m, size};
  mstream_parallel_for(0, parts.count, multiplyParts, &parts);
}

/// OpenBLAS at one thread for the duration of a call. Made after the pool,
/// whose size defaults to OpenBLAS's thread count.
class SingleThreadedBlas {
public:
  SingleThreadedBlas() : saved(openblas_get_num_threads()) {
    if (saved != 1)
      openblas_set_num_threads(1);
  }
  ~SingleThreadedBlas() {
    if (saved != 1)
      openblas_set_num_threads(saved);
  }

private:
  int saved;
};

} // namespace

void mstream::rt::multiplyF32(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, const float *a,
                              int64_t lda, int64_t strideA, const float *b,
                              int64_t ldb, int64_t strideB, float *c,
                              int64_t ldc, int64_t strideC,
                              int64_t accumulate) {
  Batch entries{transA != 0,
                transB != 0,
                m,
                n,
                k,
                {a, lda, strideA},
                {b, ldb, strideB},
                {c, ldc, strideC},
                accumulate ? 1.0f : 0.0f};
  mstream::rt::blasCore();
  if (mstream::rt::inParallelTask()) {
    multiplyEntries(&entries, 0, batch);
    return;
  }
  // A stack of products (Muon's same-shape matrices, attention's heads)
  // runs whole entries on the pool's threads, so no thread waits for
  // another's share of one product: Newton–Schulz on a stack of 512 x 512
  // matrices ran 1.6x faster this way than on OpenBLAS's two threads. A
  // stack shorter than the pool runs its entries one by one, each cut over
  // the pool.
  int threads = mstream::rt::parallelThreads();
  SingleThreadedBlas single;
  if (batch >= threads)
    mstream_parallel_for(0, batch, multiplyEntries, &entries);
  else
    for (int64_t i = 0; i < batch; ++i)
      multiplySplit(entries, i, threads);
}

extern "C" void mstream_sgemm(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, int64_t a,
                              int64_t lda, int64_t strideA, int64_t b,
                              int64_t ldb, int64_t strideB, int64_t c,
                              int64_t ldc, int64_t strideC,
                              int64_t accumulate) {
  mstream::rt::countedGemm(batch * m * n * k, [&] {
    mstream::rt::multiplyF32(
        batch, transA, transB, m, n, k, reinterpret_cast<const float *>(a), lda,
        strideA, reinterpret_cast<const float *>(b), ldb, strideB,
        reinterpret_cast<float *>(c), ldc, strideC, accumulate);
  });
}
