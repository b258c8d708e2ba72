//===- BlasBf16.cpp - the bf16 GEMM entry generated code calls ------------===//
//
// Products whose operands the precision policy rounds to bf16 (C += A B
// with bf16 A and B, f32 C) have two kernels with the same result class,
// the f32 sum of exact products (a product of two bf16 numbers is exact in
// f32), summed in different orders:
//
// - "onednn": oneDNN's bf16 matmul, on the CPU's matrix units (AMX) or its
//   bf16 dot products (AVX512-BF16). Chosen where oneDNN runs AMX.
// - "widen": each operand widened to f32 (exact: bf16 is f32's upper half)
//   and multiplied by mstream_sgemm. Chosen elsewhere: without AMX, bf16
//   buys no arithmetic. On an Intel Xeon (Emerald Rapids, AMX hidden by
//   the hypervisor) one core's peak was 200 GFLOP/s with f32 FMAs against
//   101 with AVX512-BF16's vdpbf16ps, and oneDNN 2.6.3's bf16 matmul ran
//   at 95-113 GFLOP/s where its f32 one ran at 153-223 (2026-12-07,
//   docs/precision.md).
//
// MSTREAM_BF16_GEMM=onednn|widen overrides the choice.
//
//===----------------------------------------------------------------------===//

#include "OneDnn.h"
#include "Sgemm.h"

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/Parallel.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// One operand of a batched call, `rows` x `cols` as stored.
struct Stored {
  const uint16_t *data;
  int64_t rows, cols, ld, stride;
};

struct Widening {
  Stored from;
  int64_t entries;
  float *to; // packed: ld = cols, entry i at i * rows * cols
};

void widenRows(void *context, int64_t begin, int64_t end) {
  const Widening &w = *static_cast<const Widening *>(context);
  for (int64_t r = begin; r < end; ++r) {
    int64_t entry = r / w.from.rows, row = r % w.from.rows;
    const uint16_t *src = w.from.data + entry * w.from.stride + row * w.from.ld;
    float *dst = w.to + r * w.from.cols;
    for (int64_t c = 0; c < w.from.cols; ++c) {
      uint32_t bits = uint32_t(src[c]) << 16;
      std::memcpy(dst + c, &bits, sizeof bits);
    }
  }
}

/// The operand as packed f32 entries (one when every entry is the same).
std::vector<float> widen(Stored from, int64_t batch) {
  int64_t entries = from.stride == 0 ? 1 : batch;
  std::vector<float> out(entries * from.rows * from.cols);
  Widening w{from, entries, out.data()};
  if (mstream::rt::inParallelTask() || out.size() < (size_t(1) << 16))
    widenRows(&w, 0, entries * from.rows);
  else
    mstream_parallel_for(0, entries * from.rows, widenRows, &w);
  return out;
}

struct Call {
  int64_t batch, transA, transB, m, n, k;
  Stored a, b;
  float *c;
  int64_t ldc, strideC, accumulate;
};

void multiplyWidened(const Call &g) {
  std::vector<float> a = widen(g.a, g.batch), b = widen(g.b, g.batch);
  auto stride = [](const Stored &s) {
    return s.stride == 0 ? 0 : s.rows * s.cols;
  };
  mstream::rt::multiplyF32(g.batch, g.transA, g.transB, g.m, g.n, g.k, a.data(),
                           g.a.cols, stride(g.a), b.data(), g.b.cols,
                           stride(g.b), g.c, g.ldc, g.strideC, g.accumulate);
}

bool chooseOneDnn() {
  namespace onednn = mstream::rt::onednn;
  if (!onednn::available())
    return false;
  const char *forced = std::getenv("MSTREAM_BF16_GEMM");
  if (forced && std::string(forced) == "onednn")
    return true;
  if (forced && std::string(forced) == "widen")
    return false;
  return onednn::hasAmx();
}

bool useOneDnn() {
  static const bool chosen = chooseOneDnn();
  return chosen;
}

} // namespace

const char *mstream::rt::bf16GemmKernel() {
  return useOneDnn() ? "onednn" : "widen";
}

extern "C" void mstream_gemm_bf16(int64_t batch, int64_t transA, int64_t transB,
                                  int64_t m, int64_t n, int64_t k, int64_t a,
                                  int64_t lda, int64_t strideA, int64_t b,
                                  int64_t ldb, int64_t strideB, int64_t c,
                                  int64_t ldc, int64_t strideC,
                                  int64_t accumulate) {
  Call g{batch,
         transA,
         transB,
         m,
         n,
         k,
         {reinterpret_cast<const uint16_t *>(a), transA ? k : m, transA ? m : k,
          lda, strideA},
         {reinterpret_cast<const uint16_t *>(b), transB ? n : k, transB ? k : n,
          ldb, strideB},
         reinterpret_cast<float *>(c),
         ldc,
         strideC,
         accumulate};
  mstream::rt::countedGemm(batch * m * n * k, [&] {
    if (useOneDnn())
      mstream::rt::onednn::multiply(
          {batch, transA != 0, transB != 0, m, n, k, g.a.data, lda, strideA,
           g.b.data, ldb, strideB, g.c, ldc, strideC, accumulate != 0});
    else
      multiplyWidened(g);
  });
}
