//===- Denormals.h - subnormal floats flushed while entries run -*- C++ -*-===//
//
// Products of tiny values leave subnormal floats, and on Intel CPUs every
// multiply that reads or writes one takes a microcode assist: soap's
// per-token inverse square roots ran their 64 x 64 products at 26 GFLOP/s
// on one core of an Intel Xeon (Emerald Rapids) instead of 158, and its
// d=512 train step at L=1 took 940 ms instead of 395. Like TensorFlow and
// XLA on the CPU, the runtime runs its entry points with subnormals flushed
// to zero (x86: MXCSR's flush-to-zero and denormals-are-zero bits), which
// changes only values below 1.2e-38, far under float32's tolerances here.
// MSTREAM_FLUSH_DENORMALS=0 keeps IEEE subnormals.
//
// The mode belongs to a thread: the thread pool (Parallel.cpp) runs each
// task in the mode of the thread that started it.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_DENORMALS_H
#define MSTREAM_RUNTIME_DENORMALS_H

namespace mstream::rt {

/// The calling thread's floating-point control state (x86: MXCSR; 0 and a
/// no-op elsewhere).
unsigned floatControl();
void setFloatControl(unsigned control);

/// Flushes subnormals on the calling thread for its lifetime, unless
/// MSTREAM_FLUSH_DENORMALS is 0, and restores the previous state.
class ScopedFlushDenormals {
public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals &) = delete;
  ScopedFlushDenormals &operator=(const ScopedFlushDenormals &) = delete;

private:
  unsigned saved;
};

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_DENORMALS_H
