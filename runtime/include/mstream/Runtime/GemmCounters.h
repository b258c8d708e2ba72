//===- GemmCounters.h - what the CPU runtime's GEMMs have cost --*- C++ -*-===//
//
// A step of the weight optimizer's Newton–Schulz can be mostly matrix
// products, which no fusion makes cheaper; the counters separate the time
// a call spends in them from the rest (generated loops, token regions), so
// that a benchmark or a user can tell which of the two a change moved.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_GEMMCOUNTERS_H
#define MSTREAM_RUNTIME_GEMMCOUNTERS_H

#include <cstdint>

namespace mstream::rt {

/// Totals since the process started over the mstream_sgemm calls made
/// outside parallel tasks, and the flash attention kernels' calls
/// (FlashAttention.h), whose tile products count as their multiply-adds. A
/// product inside a fused region's token loop is part of that region's work and
/// is not counted; a batched call counts once with all its entries, however
/// many threads ran them.
struct GemmCounters {
  int64_t calls = 0;
  int64_t multiplyAdds = 0; // batch * m * n * k, summed
  double seconds = 0;       // wall time inside the calls
};

GemmCounters gemmCounters();

/// Adds one call; thread-safe.
void countGemm(int64_t multiplyAdds, int64_t nanoseconds);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_GEMMCOUNTERS_H
