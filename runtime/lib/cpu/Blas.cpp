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

#include <cblas.h>

namespace {

bool isSymmetric(const float *matrix, int64_t n, int64_t ld) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j)
      if (matrix[i * ld + j] != matrix[j * ld + i])
        return false;
  return true;
}

/// C += A Aᵀ (or Aᵀ A) through ssyrk when the product is one, C is
/// symmetric, and C shares no memory with A; returns false otherwise.
bool selfProduct(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                 const float *A, int64_t lda, const float *B, int64_t ldb,
                 float *C, int64_t ldc) {
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
  if (!isSymmetric(C, m, ldc))
    return false;
  cblas_ssyrk(CblasRowMajor, CblasUpper, trans, m, k, 1.0f, A, lda, 1.0f, C,
              ldc);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < i; ++j)
      C[i * ldc + j] = C[j * ldc + i];
  return true;
}

} // namespace

extern "C" void mstream_sgemm(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, int64_t a,
                              int64_t lda, int64_t strideA, int64_t b,
                              int64_t ldb, int64_t strideB, int64_t c,
                              int64_t ldc, int64_t strideC) {
  auto *A = reinterpret_cast<const float *>(a);
  auto *B = reinterpret_cast<const float *>(b);
  auto *C = reinterpret_cast<float *>(c);
  for (int64_t i = 0; i < batch; ++i) {
    const float *Ai = A + i * strideA, *Bi = B + i * strideB;
    float *Ci = C + i * strideC;
    if (selfProduct(transA, transB, m, n, k, Ai, lda, Bi, ldb, Ci, ldc))
      continue;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, Ai, lda, Bi,
                ldb, 1.0f, Ci, ldc);
  }
}
