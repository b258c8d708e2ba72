//===- OneDnn.h - products on oneDNN's matmul, on the runtime's pool -----===//
//
// Internal to the CPU runtime (BlasBf16.cpp's bf16 products; its f32 matmul
// ran no faster than OpenBLAS in whole train steps: docs/precision.md). oneDNN
// is built on OpenMP; each call here runs oneDNN single-threaded on the calling
// thread (an idle OpenMP team would spin on the pool's cores), and the
// runtime's pool supplies the parallelism: a batch's entries, or one product's
// row blocks.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CPU_ONEDNN_H
#define MSTREAM_RUNTIME_CPU_ONEDNN_H

#include <cstdint>

namespace mstream::rt::onednn {

/// C (f32) = [C +] op(A) op(B) per batch entry, row-major, strides in
/// elements; A and B hold bf16 bit patterns.
struct Gemm {
  int64_t batch;
  bool transA, transB;
  int64_t m, n, k;
  const void *a;
  int64_t lda, strideA;
  const void *b;
  int64_t ldb, strideB;
  float *c;
  int64_t ldc, strideC;
  bool accumulate;
};

/// Whether the runtime was built with oneDNN.
bool available();

/// Whether oneDNN runs AMX on this CPU (its bf16 products then run several
/// times faster than f32 ones).
bool hasAmx();

/// Runs `g`, on the pool unless called from inside a parallel task.
/// Requires available().
void multiply(const Gemm &g);

} // namespace mstream::rt::onednn

#endif // MSTREAM_RUNTIME_CPU_ONEDNN_H
