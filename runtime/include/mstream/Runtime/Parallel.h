//===- Parallel.h - the parallel-for generated code calls -------*- C++ -*-===//
//
// Generated CPU code runs the tokens of a fused region's loop through here
// (passes/ DispatchTokenRanges), and mstream_sgemm the entries of a batch
// or the parts of a product:
// `task(context, b, e)` runs tokens (entries) [b, e).
// The range is split over a pool of threads whose size is
// MSTREAM_NUM_THREADS, or else OpenBLAS's thread count
// (OPENBLAS_NUM_THREADS); BLAS calls made by the tasks run single-threaded
// meanwhile, since the pool already occupies the cores. Tasks run in the
// caller's floating-point mode (Denormals.h).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_PARALLEL_H
#define MSTREAM_RUNTIME_PARALLEL_H

#include <cstdint>

extern "C" void mstream_parallel_for(int64_t begin, int64_t end,
                                     void (*task)(void *, int64_t, int64_t),
                                     void *context);

namespace mstream::rt {

/// The number of threads mstream_parallel_for uses (the caller included).
int parallelThreads();

/// Whether the calling thread is running a task of mstream_parallel_for.
bool inParallelTask();

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_PARALLEL_H
