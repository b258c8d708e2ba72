//===- CudaPipeline.cpp - the mstream-cuda-pipeline -----------------------===//

#include "mstream/InitAllPasses.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mstream::buildGpuReductions(OpPassManager &pm) {
  // Whole-tensor reductions would otherwise run in one thread, a token's
  // row reductions in one thread of its block. A token's row gets a partial
  // result per thread of its block (mstream-loops-to-gpu launches 256),
  // which mstream-distribute-token-loops combines with shuffles.
  SplitReductionsOptions split;
  split.tokenMinSize = 256;
  split.tokenMaxRatio = 256;
  pm.addPass(createSplitReductions(split));
  pm.addPass(createCanonicalizerPass());
}

void mstream::buildGpuLoops(OpPassManager &pm, llvm::StringRef gemmSymbol,
                            llvm::StringRef bf16GemmSymbol, bool oneThread,
                            int64_t tokenSharedBytes) {
  // GEMMs to the library, except inside token loops (fused regions), which
  // run as one kernel each, a block per token.
  GemmToBlasOptions gemm;
  gemm.symbol = gemmSymbol.str();
  gemm.bf16Symbol = bf16GemmSymbol.str();
  gemm.inTokenLoops = false;
  pm.addPass(createGemmToBlas(gemm));
  pm.addPass(createCanonicalizerPass());
  // A token's buffers in its block's shared memory where they fit; the
  // emulation's one-thread block keeps them in global scratch, one slot per
  // block as well.
  TokenBuffersToScratchOptions scratch;
  scratch.sharedBytes = tokenSharedBytes;
  pm.addPass(createTokenBuffersToScratch(scratch));
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createInterchangeParallelOutermost());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // One launch, not one per token, for the embedding gradients.
  pm.addPass(createHoistParallelLoops());
  DistributeTokenLoopsOptions distribute;
  distribute.oneThread = oneThread;
  pm.addPass(createDistributeTokenLoops(distribute));
  // Scalar code in loops of one point, so that it merges too.
  pm.addPass(createWrapSerialRuns());
  // A few launches for runs of small independent loops: the weight
  // optimizer's updates, per-tensor norms.
  pm.addPass(createMergeParallelLoops());
  // After the merge, so that no free splits a run of loops. Frees are
  // stream-ordered (cudaFreeAsync on the runtime's one stream), so a free
  // right after the last launch that uses a buffer is safe.
  pm.addPass(createFreeAfterLastUse());
}

void mstream::buildCudaPipeline(OpPassManager &pm,
                                const CudaPipelineOptions &options) {
  buildBufferizedLinalg(pm, options.precision, /*flashAttention=*/false,
                        [](OpPassManager &tensors) {
                          buildGpuReductions(tensors);
                          // Last: kernels cannot read host globals, and the
                          // canonicalizer would fold fills back into constants.
                          tensors.addPass(createConstantsToFills());
                        });
  // Every loop nest outside the GEMMs to a kernel. A token's buffers may
  // take half an SM's shared memory, less the 1 KiB the driver reserves
  // per block: two blocks share each SM, so that one's barriers overlap
  // the other's work. Beyond the 48 KiB a kernel may declare, the launch
  // asks for the rest dynamically (mstream-loops-to-gpu).
  int64_t sharedPerSM = options.chip == "sm_80" ? 164 * 1024 : 228 * 1024;
  buildGpuLoops(pm, "mstream_cuda_sgemm", "mstream_cuda_gemm_bf16",
                /*oneThread=*/false, sharedPerSM / 2 - 1024);
  pm.addPass(createLoopsToGpu());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createRecordEntryShapes());
  // Shapes, strides and offsets into the kernels as constants: ptxas then
  // turns index divisions into multiplications (not calls to a 64-bit
  // division routine), and they leave the kernels' parameters.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeGpuModules());
  pm.addPass(createDeduplicateKernels());
  // While launches still name their kernels and grids.
  if (options.kernelReport)
    pm.addPass(createKernelReport());

  // Kernels -> NVVM.
  buildLoopsToControlFlow(pm);
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX 8.1: kernels may take more than 4 KiB of parameters (memref
  // descriptors are passed field by field); CUDA 12.1 and later drivers.
  target.features = "+ptx81";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createGlobalKernelPointers());

  // Host -> LLVM. Allocations go through the runtime's
  // _mlir_memref_to_llvm_alloc, which hands out device memory.
  buildHostToLlvm(pm, /*deviceAllocations=*/true);
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());

  // Kernels -> cubin (NVPTX, then ptxas from the CUDA toolkit).
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "bin";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createEmitEntryPoints());
}
