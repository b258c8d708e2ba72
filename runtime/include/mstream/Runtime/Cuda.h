//===- Cuda.h - running cuda artifacts --------------------------*- C++ -*-===//
//
// The host code of a cuda artifact launches kernels from its embedded cubin
// and calls cuBLAS through the functions in runtime/cuda/Wrappers.cpp. Its
// entry points take device addresses (Device.h).
// Errors inside generated code (a failed launch, an out-of-memory
// allocation) are recorded with the kernel's name, later work is skipped,
// and the call reports the first one.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CUDA_H
#define MSTREAM_RUNTIME_CUDA_H

#include "mstream/Runtime/Device.h"

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

#include <memory>

namespace mstream::rt::cuda {

/// Whether this runtime was built with the CUDA toolkit.
bool builtWithCuda();

/// Selects device 0 if it can run kernels built for `chip` ("sm_90");
/// FailedPrecondition naming what is missing otherwise.
absl::Status requireDevice(absl::string_view chip);

/// The device that runs artifacts of `chip` (device 0, its stream and
/// cuBLAS), after requireDevice(chip). MSTREAM_CUDA_GRAPHS=0 runs every
/// call's launches one by one instead of replaying a captured CUDA graph.
absl::StatusOr<std::unique_ptr<Device>> openDevice(absl::string_view chip);

/// The first error generated code's runtime calls recorded since the last
/// call, cleared; OK if none.
absl::Status takeError();

} // namespace mstream::rt::cuda

#endif // MSTREAM_RUNTIME_CUDA_H
