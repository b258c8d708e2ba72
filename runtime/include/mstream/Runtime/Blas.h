//===- Blas.h - the GEMM entry generated code calls -------------*- C++ -*-===//
//
// Generated CPU code routes every f32 GEMM here (mstream-gemm-to-blas): per
// batch entry, C += op(A) op(B) with row-major operands, or C = op(A) op(B)
// when `accumulate` is 0. Addresses are byte addresses; strides are in
// elements. The entries of a batch, or the parts of one large product, run
// in parallel (mstream_parallel_for), OpenBLAS itself single-threaded.
// Calls made outside parallel tasks are counted (GemmCounters.h).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_BLAS_H
#define MSTREAM_RUNTIME_BLAS_H

#include <cstdint>

extern "C" void mstream_sgemm(int64_t batch, int64_t transA, int64_t transB,
                              int64_t m, int64_t n, int64_t k, int64_t a,
                              int64_t lda, int64_t strideA, int64_t b,
                              int64_t ldb, int64_t strideB, int64_t c,
                              int64_t ldc, int64_t strideC, int64_t accumulate);

/// The same product with bf16 operands (A and B hold bf16 bit patterns,
/// C is f32): bf16 products accumulated in f32 (BlasBf16.cpp).
extern "C" void mstream_gemm_bf16(int64_t batch, int64_t transA, int64_t transB,
                                  int64_t m, int64_t n, int64_t k, int64_t a,
                                  int64_t lda, int64_t strideA, int64_t b,
                                  int64_t ldb, int64_t strideB, int64_t c,
                                  int64_t ldc, int64_t strideC,
                                  int64_t accumulate);

namespace mstream::rt {
/// The kernel mstream_gemm_bf16 runs: "onednn" (oneDNN's bf16 matmul,
/// chosen where it runs AMX) or "widen" (operands widened to f32 for
/// mstream_sgemm); MSTREAM_BF16_GEMM overrides the choice.
const char *bf16GemmKernel();
} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_BLAS_H
