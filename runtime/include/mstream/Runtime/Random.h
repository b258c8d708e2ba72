//===- Random.h - the runtime's deterministic random numbers ----*- C++ -*-===//
//
// SplitMix64: tiny, fast and the same on every platform, so initialisation,
// data order and sampling are reproducible from a seed alone.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_RANDOM_H
#define MSTREAM_RUNTIME_RANDOM_H

#include <cstdint>

namespace mstream::rt {

inline uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// A uniform double in (0, 1].
inline double uniform(uint64_t &state) {
  return (static_cast<double>(splitMix64(state) >> 11) + 1.0) * 0x1.0p-53;
}

/// A uniform integer in [0, bound), bound > 0.
inline uint64_t below(uint64_t &state, uint64_t bound) {
  return splitMix64(state) % bound;
}

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_RANDOM_H
