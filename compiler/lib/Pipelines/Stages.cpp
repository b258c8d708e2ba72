//===- Stages.cpp - the stages every target's pipeline shares -------------===//

#include "mstream/InitAllPasses.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mstream::buildBufferizedLinalg(
    OpPassManager &pm, llvm::StringRef precision, bool flashAttention,
    llvm::function_ref<void(OpPassManager &)> onTensors) {
  // mstream -> linalg on tensors; fused regions first become token loops.
  pm.addPass(createFusedToLoops());
  pm.addPass(createLowerToLinalg());
  if (!flashAttention)
    pm.addPass(createExpandFlashAttention());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (precision != "fp32") {
    ApplyPrecisionOptions policy;
    policy.precision = precision.str();
    pm.addPass(createApplyPrecision(policy));
    // As after the lowering: the roundings add tensor.empty inits.
    pm.addPass(createCSEPass());
  }
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
