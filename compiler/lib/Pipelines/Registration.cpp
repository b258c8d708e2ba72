//===- Registration.cpp - named pipelines and their dialects --------------===//

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/InitAllPasses.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

using namespace mlir;

void mstream::registerPipelineDependencies(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerVjpInterfaces(registry);
  registerBufferizableOpInterfaceExternalModels(registry);
  // The CUDA pipeline serialises kernels to cubin inside the pass manager.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerAllToLLVMIRTranslations(registry);
}

void mstream::registerPipelines() {
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
