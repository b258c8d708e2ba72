//===- Heap.cpp - the allocator policy for generated code -----------------===//
//
// glibc serves large allocations with fresh mmaps and returns the heap's
// free top to the kernel once it exceeds a threshold; either way the next
// step faults in and zeroes new pages. Two measurements, d=512 models:
// - mmapped allocations (every one over 32 MiB, glibc's largest mmap
//   threshold, such as a stack of Muon's 8 x 2048 x 512 matrices): 85,000
//   page faults a step, 5% of it;
// - a 1 GiB trim threshold: tmm's train step (L=8, T=256) frees 1.1 GiB of
//   temporaries at its end, so glibc trimmed them and the next step faulted
//   250,000 pages back in: 1.40 s a step instead of 1.06 s (its GEMMs
//   1100 ms instead of 880, the rest 295 ms instead of 184).
// So nothing is mmapped and the heap is never trimmed: its size is a step's
// peak, as a caching GPU allocator keeps its pool. The heap still falls
// back to mmap where it cannot grow.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Heap.h"

#include <cstdlib> // defines __GLIBC__ under glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mstream::rt {

void keepStepBuffers() {
#if defined(__GLIBC__)
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_MMAP_MAX, 0);
  // mallopt(3): -1 disables trimming completely.
  ::mallopt(M_TRIM_THRESHOLD, -1);
#endif
}

} // namespace mstream::rt
