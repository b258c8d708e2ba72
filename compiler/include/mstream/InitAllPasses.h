//===- InitAllPasses.h - every mstream pass and pipeline --------*- C++ -*-===//
//
// The one registration entry point for drivers (mstream-opt, the compiler
// library): every pass group's passes and the named pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_INITALLPASSES_H
#define MSTREAM_INITALLPASSES_H

#include "mstream/Codegen/CPU/Passes.h"
#include "mstream/Codegen/Common/Passes.h"
#include "mstream/Codegen/GPU/Passes.h"
#include "mstream/Conversion/MStreamToLinalg/Passes.h"
#include "mstream/Pipelines/Pipelines.h"
#include "mstream/Transforms/Autodiff/Passes.h"
#include "mstream/Transforms/Fusion/Passes.h"

namespace mstream {

inline void registerAllPasses() {
  registerMStreamToLinalgPasses();
  registerMStreamFusionPasses();
  registerMStreamAutodiffPasses();
  registerMStreamCodegenCommonPasses();
  registerMStreamCodegenCPUPasses();
  registerMStreamCodegenGPUPasses();
  registerPipelines();
}

} // namespace mstream

#endif // MSTREAM_INITALLPASSES_H
