//===- CompileRequest.h - what one compilation builds ----------*- C++ -*-===//
//
// Shared by the compiler driver and the runtime's commands (which ask the
// compiler for artifacts through CompilerHooks). Free of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_MODEL_COMPILEREQUEST_H
#define MSTREAM_MODEL_COMPILEREQUEST_H

#include <cstdint>
#include <string>

namespace mstream {

/// The compile-time part of the weight optimizer (mstream-build-train-step;
/// learning rates and the schedule are runtime inputs).
struct OptimizerOptions {
  /// "hybrid" or "adamw" (docs/training.md).
  std::string recipe = "hybrid";
  /// Global gradient-norm clipping; <= 0 turns it off.
  double maxNorm = 1.0;
};

struct CompileRequest {
  /// "cpu" (host code, OpenBLAS) or "cuda" (host code launching kernels
  /// from an embedded cubin, cuBLAS).
  std::string target = "cpu";
  /// The GPU architecture of a cuda target: "sm_80" or "sm_90".
  std::string chip = "sm_90";
  /// The instruction set of the host code (runtime/HostIsa.h): "portable",
  /// "native" (this CPU's newest) or one of the architecture's ("avx2",
  /// "avx512" on x86-64). A comma-separated list, or "all", builds a fat
  /// artifact with host code for each; the runtime loads the newest its CPU
  /// runs.
  std::string hostCpu = "portable";
  /// "fp32", or "bf16": the oracles' products (projections, attention's
  /// products, the tied head, their gradients) multiply bf16-rounded
  /// operands and accumulate in f32; everything else stays f32
  /// (docs/precision.md).
  std::string precision = "fp32";
  /// cuda: record mstream.kernel_report on the lowered module
  /// (mstream compile --print-kernel-report).
  bool kernelReport = false;
  int64_t batch = 1;
  /// 0 means the definition's max_seq_len.
  int64_t seq = 0;
  /// Adds the loss_and_grads entry.
  bool gradients = false;
  /// Adds the train_step entry (and loss_and_grads).
  bool train = false;
  /// Runs the fusion passes (mstream-fuse-preconditioners,
  /// mstream-fuse-streams): per-token regions, forward and backward; and
  /// updates the weights by one optimizer op per parameter group (false:
  /// one per parameter).
  bool fuse = true;
  /// cpu target only: lowers the fused regions as the cuda target does,
  /// each kernel block in one thread (mstream-cpu-pipeline's
  /// gpu-token-kernels), to test the GPU kernels' logic without a GPU.
  bool emulateGpuKernels = false;
  OptimizerOptions optimizer;
};

} // namespace mstream

#endif // MSTREAM_MODEL_COMPILEREQUEST_H
