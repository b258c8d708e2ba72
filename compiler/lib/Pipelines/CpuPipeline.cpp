//===- CpuPipeline.cpp - the mstream-cpu-pipeline -------------------------===//

#include "mstream/InitAllPasses.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mstream::buildCpuPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options) {
  if (options.gpuTokenKernels) {
    // The CUDA pipeline's loops, a kernel's block as one thread.
    buildBufferizedLinalg(pm, options.precision, /*flashAttention=*/false,
                          buildGpuReductions);
    buildGpuLoops(pm, "mstream_sgemm", "mstream_gemm_bf16", /*oneThread=*/true,
                  /*tokenSharedBytes=*/0);
  } else {
    buildBufferizedLinalg(pm, options.precision);
    // GEMMs and attention to the runtime's kernels; the rest to loops.
    pm.addPass(createGemmToBlas());
    pm.addPass(createAttentionToRuntime());
    pm.addPass(createCanonicalizerPass());
    bufferization::BufferDeallocationPipelineOptions deallocation;
    bufferization::buildBufferDeallocationPipeline(pm, deallocation);
    pm.addPass(createFreeAfterLastUse());
    // Parallel dimensions as scf.parallel: mstream-outline-loop-nests runs
    // the large ones on the runtime's threads.
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  }
  // exp and erf as code the loop vectorizer widens, not libm calls.
  pm.addPass(createApproximateMath());
  pm.addPass(createRecordEntryShapes());
  pm.addPass(createOutlineLoopNests());
  // Per-token temporaries in the token functions' frames, not the heap.
  pm.addPass(createTokenBuffersToStack());
  if (options.precision != "fp32") {
    // Rounding to bf16 as integer operations: x86's baseline has no
    // instruction for it, and LLVM would call libgcc's __truncsfbf2, which
    // GCC 12's libgcc lacks.
    arith::ArithExpandOpsPassOptions expand;
    expand.includeBf16 = true;
    pm.addPass(arith::createArithExpandOpsPass(expand));
  }

  // -> LLVM dialect.
  buildLoopsToControlFlow(pm);
  buildHostToLlvm(pm, /*deviceAllocations=*/false);
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createDispatchTokenRanges());
  pm.addPass(createEmitEntryPoints());
}
