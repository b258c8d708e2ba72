//===- HostIsa.h - the instruction sets host code is built for --*- C++ -*-===//
//
// An artifact's host code (the generated loops; the matrix products are
// OpenBLAS's either way) is built for one instruction set, named in its
// manifest: "portable", the architecture's baseline (x86-64: SSE2, 4-wide
// vectors, no fused multiply-add), so that it runs on any machine of the
// architecture, or on x86-64 "avx2" (AVX2 and FMA) or "avx512" (those and
// AVX-512 F, BW, DQ and VL). An artifact may carry host code for several
// ("fat"); the runtime loads the newest this CPU runs and refuses, with a
// message, host code it cannot run rather than stop on an illegal
// instruction.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_HOSTISA_H
#define MSTREAM_RUNTIME_HOSTISA_H

#include "mstream/Runtime/BlasCore.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

namespace mstream::rt {

/// The instruction sets of this architecture, oldest first.
const std::vector<std::string> &hostIsas();

/// The newest instruction set a CPU with `features` runs.
std::string bestHostIsa(const CpuFeatures &features = hostCpuFeatures());

/// `name` as an instruction set: "native" is this CPU's bestHostIsa, any
/// other must be one of hostIsas().
absl::StatusOr<std::string> resolveHostIsa(absl::string_view name);

/// The instruction sets a comma-separated list names, oldest first, each
/// once: entries as resolveHostIsa takes them, or "all" for hostIsas().
absl::StatusOr<std::vector<std::string>>
resolveHostIsas(absl::string_view names);

/// "" when a CPU with `features` runs host code built for `isa`, else why
/// not.
std::string hostIsaProblem(absl::string_view isa,
                           const CpuFeatures &features = hostCpuFeatures());

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_HOSTISA_H
