//===- LowerToLinalg.cpp - the mstream-lower-to-linalg pass ---------------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"

#include "mstream/Conversion/MStreamToLinalg/Passes.h"
#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mstream {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "mstream/Conversion/MStreamToLinalg/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct LowerToLinalgPass : mstream::impl::LowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    mstream::populateLowerModelOpsPatterns(patterns);
    mstream::populateLowerMatrixOpsPatterns(patterns);
    mstream::populateLowerStepOpsPatterns(patterns);
    mstream::populateLowerOptimizerOpsPatterns(patterns);

    ConversionTarget target(*context);
    target.addIllegalDialect<mstream::MStreamDialect>();
    // Kernel ops: the target's pipeline decides what they become.
    target
        .addLegalOp<mstream::FlashAttentionOp, mstream::FlashAttentionGradOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
