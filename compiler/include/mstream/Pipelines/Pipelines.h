//===- Pipelines.h - the named pipelines and their stages -------*- C++ -*-===//
//
// The stages every target shares (mstream IR to bufferized linalg, loops to
// control flow, host code to the LLVM dialect) and the two named pipelines
// built from them, mstream-cpu-pipeline and mstream-cuda-pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PIPELINES_PIPELINES_H
#define MSTREAM_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mstream {

/// The pipelines' common start: mstream IR to bufferized linalg, entry
/// points filling caller-owned buffers, the oracles' products in
/// `precision` (fp32 or bf16: mstream-apply-precision). With
/// `flashAttention`, attention's core stays mstream.flash_attention for
/// the target's kernel; without, it becomes products and a softmax
/// (mstream-expand-flash-attention). `onTensors` adds a target's passes on
/// linalg before bufferization.
void buildBufferizedLinalg(
    mlir::OpPassManager &pm, llvm::StringRef precision = "fp32",
    bool flashAttention = true,
    llvm::function_ref<void(mlir::OpPassManager &)> onTensors = nullptr);

/// Strided views, affine and scf to plain control flow (host and kernels).
void buildLoopsToControlFlow(mlir::OpPassManager &pm);

/// Host functions to the LLVM dialect, before reconcile-unrealized-casts.
/// With `deviceAllocations`, allocations call the runtime's
/// _mlir_memref_to_llvm_alloc/free (device memory) instead of malloc/free.
void buildHostToLlvm(mlir::OpPassManager &pm, bool deviceAllocations);

/// The fusion passes, in order: mstream-fuse-preconditioners, then
/// mstream-fuse-streams.
void buildFusionPipeline(mlir::OpPassManager &pm);

struct CpuPipelineOptions
    : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> gpuTokenKernels{
      *this, "gpu-token-kernels",
      llvm::cl::desc("Lower the token loops as the CUDA pipeline does, each "
                     "block's work in one thread: runs the GPU kernels' "
                     "logic on the CPU, to test it without a GPU"),
      llvm::cl::init(false)};
  Option<std::string> precision{
      *this, "precision",
      llvm::cl::desc("fp32, or bf16: the oracles' products multiply bf16 "
                     "operands and accumulate in f32 (docs/precision.md)"),
      llvm::cl::init("fp32")};
};

/// The named pipeline `mstream-cpu-pipeline`: mstream IR (forward, loss)
/// to the LLVM dialect with packed entry points and BLAS calls.
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options = {});

/// The GPU pipelines' split of large reductions, on tensors.
void buildGpuReductions(mlir::OpPassManager &pm);

/// The CUDA pipeline from bufferized linalg to parallel loops and token
/// loops distributed over a block (`oneThread`: a block of one thread, no
/// barriers), GEMMs outside token loops calling `gemmSymbol` (f32 operands)
/// or `bf16GemmSymbol` (bf16 operands), neighbouring independent loops
/// merged. A token's buffers go to its block's shared memory where they
/// take at most `tokenSharedBytes` (0: never).
void buildGpuLoops(mlir::OpPassManager &pm, llvm::StringRef gemmSymbol,
                   llvm::StringRef bf16GemmSymbol, bool oneThread,
                   int64_t tokenSharedBytes);

struct CudaPipelineOptions
    : public mlir::PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{
      *this, "chip", llvm::cl::desc("The GPU architecture (sm_80, sm_90)"),
      llvm::cl::init("sm_90")};
  Option<std::string> precision{
      *this, "precision",
      llvm::cl::desc("fp32, or bf16: the oracles' products multiply bf16 "
                     "operands and accumulate in f32 (docs/precision.md)"),
      llvm::cl::init("fp32")};
  Option<bool> kernelReport{
      *this, "kernel-report",
      llvm::cl::desc("Record mstream.kernel_report on the module "
                     "(mstream-kernel-report, after the kernels are merged)"),
      llvm::cl::init(false)};
};

/// The named pipeline `mstream-cuda-pipeline`: mstream IR to host LLVM
/// code that launches kernels from embedded cubins (NVVM, ptxas) and calls
/// cuBLAS through the runtime's mstream_cuda_sgemm.
void buildCudaPipeline(mlir::OpPassManager &pm,
                       const CudaPipelineOptions &options);

/// Registers the named pipelines (mstream-fusion-pipeline,
/// mstream-cpu-pipeline, mstream-cuda-pipeline) with mlir-opt style drivers.
void registerPipelines();

/// Every dialect and interface implementation (bufferization models,
/// conversions, translations) the pipelines need, for any driver's context.
void registerPipelineDependencies(mlir::DialectRegistry &registry);

} // namespace mstream

#endif // MSTREAM_PIPELINES_PIPELINES_H
