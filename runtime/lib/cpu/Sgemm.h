//===- Sgemm.h - the f32 product behind mstream_sgemm, uncounted ---------===//
//
// Internal to the CPU runtime: mstream_gemm_bf16's widening kernel runs its
// product here, and counts the call itself (widening included).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CPU_SGEMM_H
#define MSTREAM_RUNTIME_CPU_SGEMM_H

#include <cstdint>

namespace mstream::rt {

/// mstream_sgemm's product, without counting it (GemmCounters.h).
void multiplyF32(int64_t batch, int64_t transA, int64_t transB, int64_t m,
                 int64_t n, int64_t k, const float *a, int64_t lda,
                 int64_t strideA, const float *b, int64_t ldb, int64_t strideB,
                 float *c, int64_t ldc, int64_t strideC, int64_t accumulate);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_CPU_SGEMM_H
