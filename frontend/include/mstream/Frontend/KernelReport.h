//===- KernelReport.h - what a cuda artifact's entries launch ---*- C++ -*-===//
//
// `mstream compile --target=cuda --print-kernel-report[=json]`: for each
// entry, every kernel and cuBLAS call with its launches per call, grid,
// block, the registers, shared memory and stack frame ptxas gave it, its
// bytes and FLOPs (mstream-kernel-report's estimates), the entry's
// host<->device bytes per call, its peak device memory, and a roofline
// estimate of its time on a named GPU. docs/cuda-backend.md explains each
// number.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_FRONTEND_KERNELREPORT_H
#define MSTREAM_FRONTEND_KERNELREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mstream {

/// The peak rates a roofline estimate divides by.
struct DevicePeaks {
  std::string name;
  double memoryBytesPerSecond;
  double fp32FlopsPerSecond;
  double bf16TensorFlopsPerSecond;
  /// The least time a kernel or library call takes, launch to end.
  double launchSeconds;

  /// NVIDIA's datasheet figures for the H100 SXM5 (80 GB HBM3): 3.35 TB/s,
  /// 67 TFLOP/s fp32 (CUDA cores; cuBLAS sgemm runs without TF32 here),
  /// 989 TFLOP/s dense bf16 on tensor cores; 2 us per launch, a kernel's
  /// usual launch-to-end floor inside a CUDA graph.
  static DevicePeaks h100Sxm();
};

/// Kernel resources ptxas recorded in a cubin.
struct KernelResources {
  int registers = 0;
  int64_t sharedBytes = 0;
  /// Per-thread stack frame (local memory: spills, local arrays).
  int64_t frameBytes = 0;
  /// The kernel's parameters (constant bank 0; at most 32,764 bytes).
  int64_t paramBytes = 0;
};

/// Reads each kernel's resources from a cubin (an EM_CUDA ELF): the
/// register count and frame size from `.nv.info`, the parameter bytes from
/// `.nv.info.<kernel>`, static shared memory from `.nv.shared.<kernel>`.
llvm::Expected<llvm::StringMap<KernelResources>>
readCubinResources(llvm::StringRef cubin);

/// Prints the report of `lowered`, a module the CUDA pipeline lowered with
/// kernel-report=true (its mstream.kernel_report and embedded cubin), as
/// text or JSON.
llvm::Error
printKernelReport(mlir::ModuleOp lowered, bool json, llvm::raw_ostream &os,
                  const DevicePeaks &peaks = DevicePeaks::h100Sxm());

} // namespace mstream

#endif // MSTREAM_FRONTEND_KERNELREPORT_H
