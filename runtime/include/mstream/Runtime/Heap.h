//===- Heap.h - the allocator policy for generated code ---------*- C++ -*-===//
//
// Generated code mallocs and frees each step's temporaries, the same sizes
// in the same order every step. The runtime keeps glibc from handing that
// memory back to the kernel between steps, so that no step pays for fresh
// zeroed pages (Heap.cpp has the measurements).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_HEAP_H
#define MSTREAM_RUNTIME_HEAP_H

namespace mstream::rt {

/// Serves every allocation from the heap (none mmapped) and never trims the
/// heap, so a step's freed temporaries serve the next step. Idempotent; a
/// no-op where the C library is not glibc.
void keepStepBuffers();

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_HEAP_H
