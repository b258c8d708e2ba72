//===- Denormals.cpp - subnormal floats flushed while entries run ---------===//

#include "mstream/Runtime/Denormals.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace mstream::rt {

namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr unsigned kFlush = 0x8040; // MXCSR's FTZ and DAZ
#else
constexpr unsigned kFlush = 0;
#endif

bool flushRequested() {
  static const bool flush = [] {
    const char *env = std::getenv("MSTREAM_FLUSH_DENORMALS");
    return !env || std::strcmp(env, "0") != 0;
  }();
  return flush;
}

} // namespace

#if defined(__x86_64__) || defined(__i386__)
unsigned floatControl() { return _mm_getcsr(); }
void setFloatControl(unsigned control) { _mm_setcsr(control); }
#else
unsigned floatControl() { return 0; }
void setFloatControl(unsigned) {}
#endif

ScopedFlushDenormals::ScopedFlushDenormals() : saved(floatControl()) {
  if (kFlush && flushRequested())
    setFloatControl(saved | kFlush);
}

ScopedFlushDenormals::~ScopedFlushDenormals() { setFloatControl(saved); }

} // namespace mstream::rt
