//===- Blas.cpp - the GEMM entry generated code calls, on OpenBLAS --------===//

#include "mstream/Runtime/Blas.h"

#include <cblas.h>

extern "C" void mstream_sgemm(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, int64_t a,
                              int64_t lda, int64_t strideA, int64_t b,
                              int64_t ldb, int64_t strideB, int64_t c,
                              int64_t ldc, int64_t strideC) {
  auto *A = reinterpret_cast<const float *>(a);
  auto *B = reinterpret_cast<const float *>(b);
  auto *C = reinterpret_cast<float *>(c);
  for (int64_t i = 0; i < batch; ++i)
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                A + i * strideA, lda, B + i * strideB, ldb, 1.0f,
                C + i * strideC, ldc);
}
