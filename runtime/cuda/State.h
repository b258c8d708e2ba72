//===- State.h - the CUDA runtime's process state ---------------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_CUDA_STATE_H
#define MSTREAM_RUNTIME_CUDA_STATE_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mstream::rt::cuda {

/// One device, one stream: generated code never reads device memory on the
/// host, so ordering every launch, copy and GEMM on the stream is enough.
struct State {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  /// Synchronise after every launch (MSTREAM_CUDA_SYNC=1) so that a fault
  /// is reported with the kernel that caused it.
  bool syncEachLaunch = false;
  std::unordered_map<const void *, std::string> kernelNames;
  /// The dynamic shared memory each kernel is allowed beyond the default
  /// 48 KiB (cudaFuncAttributeMaxDynamicSharedMemorySize), once set.
  std::unordered_map<const void *, int32_t> dynamicSharedBytes;
  /// MSTREAM_CUDA_PROFILE=1: every launch and GEMM is timed with events and
  /// each call prints its most expensive kernels to stderr (without CUDA
  /// graphs); =calls prints only what each call moved and launched.
  bool profile = false;
  struct Timed {
    std::string name;
    cudaEvent_t start, stop;
  };
  std::vector<Timed> timed;
  /// The first error since the last takeError(); later work is skipped.
  std::string error;
  /// Kernel launches and cuBLAS calls since the current call began.
  int64_t launches = 0, libraryCalls = 0;
  /// Replay each call's launches as a CUDA graph (MSTREAM_CUDA_GRAPHS=0:
  /// off); never while profiling or synchronising after every launch.
  bool graphs = true;
  /// cuBLAS's workspace, set once: a captured call must not allocate it.
  void *blasWorkspace = nullptr;
};

State &state();

/// Records `what` failing with `status` unless an error is already held;
/// returns whether `status` is success.
bool check(cudaError_t status, const std::string &what);

/// With profiling on, starts timing `name` on the stream; finishTimed ends
/// the interval begun last.
void startTimed(const std::string &name);
void finishTimed();

} // namespace mstream::rt::cuda

#endif // MSTREAM_RUNTIME_CUDA_STATE_H
