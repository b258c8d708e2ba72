//===- GemmCounters.cpp - what the CPU runtime's GEMMs have cost ----------===//

#include "mstream/Runtime/GemmCounters.h"

#include <atomic>

namespace {

std::atomic<int64_t> calls{0}, multiplyAdds{0}, nanoseconds{0};

} // namespace

mstream::rt::GemmCounters mstream::rt::gemmCounters() {
  GemmCounters counters;
  counters.calls = calls.load(std::memory_order_relaxed);
  counters.multiplyAdds = multiplyAdds.load(std::memory_order_relaxed);
  counters.seconds = nanoseconds.load(std::memory_order_relaxed) * 1e-9;
  return counters;
}

void mstream::rt::countGemm(int64_t macs, int64_t ns) {
  calls.fetch_add(1, std::memory_order_relaxed);
  multiplyAdds.fetch_add(macs, std::memory_order_relaxed);
  nanoseconds.fetch_add(ns, std::memory_order_relaxed);
}
