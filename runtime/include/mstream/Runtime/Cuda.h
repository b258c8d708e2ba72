//===- Cuda.h - running cuda artifacts --------------------------*- C++ -*-===//
//
// The host code of a cuda artifact launches kernels from its embedded cubin
// and calls cuBLAS through the functions in runtime/cuda/Wrappers.cpp. Its
// entry points take device pointers: `call` copies tensors in and out.
// Errors inside generated code (a failed launch, an out-of-memory
// allocation) are recorded with the kernel's name, later work is skipped,
// and `call` reports the first one.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CUDA_H
#define MSTREAM_RUNTIME_CUDA_H

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

#include <cstddef>
#include <vector>

namespace mstream::rt::cuda {

/// Whether this runtime was built with the CUDA toolkit.
bool builtWithCuda();

/// Selects device 0 if it can run kernels built for `chip` ("sm_90");
/// FailedPrecondition naming what is missing otherwise.
absl::Status requireDevice(absl::string_view chip);

/// One argument of an entry point, in host memory.
struct HostBuffer {
  void *data;
  size_t bytes;
  /// Copied back after the call (outputs).
  bool output;
};

/// Runs `entry` (a packed wrapper, mstream_entry_*) on device copies of
/// `args` and copies the outputs back.
absl::Status call(void (*entry)(void **), const std::vector<HostBuffer> &args,
                  absl::string_view entryName);

/// The first error generated code's runtime calls recorded since the last
/// call, cleared; OK if none.
absl::Status takeError();

} // namespace mstream::rt::cuda

#endif // MSTREAM_RUNTIME_CUDA_H
