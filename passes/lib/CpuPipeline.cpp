//===- CpuPipeline.cpp - the mstream-cpu-pipeline -------------------------===//

#include "mstream/Passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mstream::buildBufferizedLinalg(
    OpPassManager &pm, llvm::function_ref<void(OpPassManager &)> onTensors) {
  // mstream -> linalg on tensors; fused regions first become token loops.
  pm.addPass(createFusedToLoops());
  pm.addPass(createLowerToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (onTensors)
    onTensors(pm);
  // After the last CSE: it would share the fills again.
  pm.addPass(createPrivateFillInits());

  // Tensors -> buffers. Entry points take and fill caller-owned buffers.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // The per-token matrix iterations yield fresh tensors each iteration.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
}

void mstream::buildFusionPipeline(OpPassManager &pm) {
  pm.addPass(createFusePreconditioners());
  pm.addPass(createFuseStreams());
}

void mstream::buildCpuPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options) {
  if (options.gpuTokenKernels) {
    // The CUDA pipeline's loops, a kernel's block as one thread.
    buildBufferizedLinalg(pm, buildGpuReductions);
    buildGpuLoops(pm, "mstream_sgemm", /*oneThread=*/true);
  } else {
    buildBufferizedLinalg(pm);
    // GEMMs to the runtime's BLAS; the rest to loops.
    pm.addPass(createGemmToBlas());
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

  // -> LLVM dialect.
  buildLoopsToControlFlow(pm);
  buildHostToLlvm(pm, /*deviceAllocations=*/false);
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createParallelTokenLoops());
  pm.addPass(createEmitEntryPoints());
}

void mstream::buildLoopsToControlFlow(OpPassManager &pm) {
  // Strided metadata first: it emits affine.apply for dynamic offsets.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
}

void mstream::buildHostToLlvm(OpPassManager &pm, bool deviceAllocations) {
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefs;
  memrefs.useGenericFunctions = deviceAllocations;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefs));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
}

void mstream::registerPipelineDependencies(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerVjpInterfaces(registry);
  // The CUDA pipeline serialises kernels to cubin inside the pass manager.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerAllToLLVMIRTranslations(registry);
}

void mstream::registerMStreamPipelines() {
  PassPipelineRegistration<>(
      "mstream-fusion-pipeline",
      "Fuse per-token matrix iterations and substeps into mstream.fused",
      buildFusionPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "mstream-cpu-pipeline",
      "Lower mstream IR to the LLVM dialect for the CPU backend",
      buildCpuPipeline);
  PassPipelineRegistration<CudaPipelineOptions>(
      "mstream-cuda-pipeline",
      "Lower mstream IR to host LLVM code with embedded cubins (CUDA)",
      buildCudaPipeline);
}
