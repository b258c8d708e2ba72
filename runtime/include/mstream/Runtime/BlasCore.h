//===- BlasCore.h - the OpenBLAS kernels the runtime runs -------*- C++ -*-===//
//
// OpenBLAS built for several CPUs (DYNAMIC_ARCH, as Debian ships it) picks
// its kernels from the CPU's model number when it loads. A model it does not
// know gets its SSE3 "Prescott" kernels: OpenBLAS 0.3.21 (Debian 12) on an
// Intel Xeon of 2024 (Emerald Rapids, family 6 model 207) ran a 1024^3
// sgemm at 22-28 GFLOP/s on one core that way, against 107-131 with its
// AVX-512 ("SkylakeX") kernels. The runtime then picks the kernels from the
// CPU's features instead, as later OpenBLAS releases do for unknown models.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_BLASCORE_H
#define MSTREAM_RUNTIME_BLASCORE_H

#include <string>

namespace mstream::rt {

/// The vector extensions that decide which OpenBLAS kernels a CPU can run.
struct CpuFeatures {
  bool avx = false, avx2 = false, fma = false;
  bool avx512 = false; // F, BW, DQ and VL, what OpenBLAS's SkylakeX needs
};

CpuFeatures hostCpuFeatures();

/// The OpenBLAS core whose kernels suit `features` when OpenBLAS chose
/// `chosen` by falling back to its generic x86-64 kernels (a CPU older than
/// AVX has no better ones); empty when OpenBLAS's choice stands.
std::string betterBlasCore(const std::string &chosen,
                           const CpuFeatures &features);

/// The OpenBLAS core the runtime's products run on. The first call switches
/// OpenBLAS to betterBlasCore's choice, unless OPENBLAS_CORETYPE names a
/// core (the user's choice stands) or this OpenBLAS has a single core
/// built in. Called before the first product and before any generated code
/// runs: no other thread may be inside OpenBLAS then.
const std::string &blasCore();

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_BLASCORE_H
