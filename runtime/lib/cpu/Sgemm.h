//===- Sgemm.h - the f32 product behind mstream_sgemm, and counting ------===//
//
// Internal to the CPU runtime: mstream_gemm_bf16's widening kernel runs its
// product here, and both entries count their calls the same way (the
// widening included).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CPU_SGEMM_H
#define MSTREAM_RUNTIME_CPU_SGEMM_H

#include "mstream/Runtime/GemmCounters.h"
#include "mstream/Runtime/Parallel.h"

#include <chrono>
#include <cstdint>

namespace mstream::rt {

/// mstream_sgemm's product, without counting it (GemmCounters.h).
void multiplyF32(int64_t batch, int64_t transA, int64_t transB, int64_t m,
                 int64_t n, int64_t k, const float *a, int64_t lda,
                 int64_t strideA, const float *b, int64_t ldb, int64_t strideB,
                 float *c, int64_t ldc, int64_t strideC, int64_t accumulate);

/// Runs `multiply` and counts it as a call of `multiplyAdds` with its wall
/// time, unless it runs inside a parallel task (a token region's own
/// products are its region's time).
template <typename Multiply>
void countedGemm(int64_t multiplyAdds, Multiply multiply) {
  if (inParallelTask()) {
    multiply();
    return;
  }
  auto start = std::chrono::steady_clock::now();
  multiply();
  countGemm(multiplyAdds, std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count());
}

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_CPU_SGEMM_H
