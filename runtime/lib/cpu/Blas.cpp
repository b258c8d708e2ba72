//===- Blas.cpp - the GEMM entry generated code calls, on OpenBLAS --------===//
//
// Newton–Schulz, on the weight matrices (Muon) and per token, spends most
// of a step in two self-products: the Gram X Xᵀ and its square G G, where G
// is symmetric. Both are C += A Aᵀ for one operand A, which `ssyrk` computes
// in half the multiply-adds of a GEMM. They are recognised here, from the
// operands' addresses and an exact symmetry check, rather than in the
// compiler, because G's symmetry is a property of its values.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/GemmCounters.h"
#include "mstream/Runtime/Parallel.h"

#include <algorithm>
#include <cblas.h>
#include <chrono>

namespace {

/// Visits the pairs (i, j), j < i, of an n x n matrix in 32 x 32 tiles, so
/// that both (i, j) and (j, i) are read from cache; stops when `visit`
/// returns false.
template <typename Visit> bool forLowerTriangle(int64_t n, Visit visit) {
  constexpr int64_t kTile = 32;
  for (int64_t ti = 0; ti < n; ti += kTile)
    for (int64_t tj = 0; tj <= ti; tj += kTile)
      for (int64_t i = ti; i < std::min(ti + kTile, n); ++i)
        for (int64_t j = tj; j < std::min(tj + kTile, i); ++j)
          if (!visit(i, j))
            return false;
  return true;
}

bool isSymmetric(const float *matrix, int64_t n, int64_t ld) {
  return forLowerTriangle(n, [&](int64_t i, int64_t j) {
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

/// C = beta C + A Aᵀ (or Aᵀ A) through ssyrk when the product is one, C is
/// symmetric or overwritten (beta 0), and C shares no memory with A;
/// returns false otherwise.
bool selfProduct(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                 const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc) {
  if (A != B || lda != ldb || m != n)
    return false;
  CBLAS_TRANSPOSE trans;
  if (transA != transB)
    trans = transA ? CblasTrans : CblasNoTrans;
  else if (!transA && m == k && isSymmetric(A, m, lda))
    trans = CblasNoTrans; // A A = A Aᵀ.
  else
    return false;
  const float *endA = A + (transA ? k : m) * lda;
  if (C < endA && A < C + m * ldc)
    return false;
  if (beta != 0.0f && !isZeroOrSymmetric(C, m, ldc))
    return false;
  cblas_ssyrk(CblasRowMajor, CblasUpper, trans, m, k, 1.0f, A, lda, beta, C,
              ldc);
  forLowerTriangle(m, [&](int64_t i, int64_t j) {
    C[i * ldc + j] = C[j * ldc + i];
    return true;
  });
  return true;
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
};

void multiplyEntries(void *context, int64_t begin, int64_t end) {
  const Batch &g = *static_cast<const Batch *>(context);
  for (int64_t i = begin; i < end; ++i) {
    const float *Ai = g.A.entry(i), *Bi = g.B.entry(i);
    float *Ci = g.C.entry(i);
    if (selfProduct(g.transA, g.transB, g.m, g.n, g.k, Ai, g.A.ld, Bi, g.B.ld,
                    g.beta, Ci, g.C.ld))
      continue;
    cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans,
                g.transB ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.0f, Ai,
                g.A.ld, Bi, g.B.ld, g.beta, Ci, g.C.ld);
  }
}

} // namespace

extern "C" void mstream_sgemm(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, int64_t a,
                              int64_t lda, int64_t strideA, int64_t b,
                              int64_t ldb, int64_t strideB, int64_t c,
                              int64_t ldc, int64_t strideC,
                              int64_t accumulate) {
  Batch entries{transA != 0,
                transB != 0,
                m,
                n,
                k,
                {reinterpret_cast<const float *>(a), lda, strideA},
                {reinterpret_cast<const float *>(b), ldb, strideB},
                {reinterpret_cast<float *>(c), ldc, strideC},
                accumulate ? 1.0f : 0.0f};
  if (mstream::rt::inParallelTask()) {
    multiplyEntries(&entries, 0, batch);
    return;
  }
  auto start = std::chrono::steady_clock::now();
  // A stack of products (Muon's same-shape matrices, attention's heads)
  // runs whole entries on the pool's threads with single-threaded BLAS, so
  // no thread waits for another's share of one product: Newton–Schulz on a
  // stack of 512 x 512 matrices ran 1.6x faster this way than on OpenBLAS's two
  // threads. A stack shorter than the pool keeps BLAS's threads.
  if (batch >= mstream::rt::parallelThreads())
    mstream_parallel_for(0, batch, multiplyEntries, &entries);
  else
    multiplyEntries(&entries, 0, batch);
  mstream::rt::countGemm(batch * m * n * k,
                         std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count());
}
