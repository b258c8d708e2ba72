//===- ApproximateMath.cpp - the mstream-approximate-math pass ------------===//
//
// Vectorisable exp and erf for the CPU backend: libm's scalar calls would
// keep every softmax, cross-entropy and GELU loop scalar.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mstream {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "mstream/Codegen/CPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

bool isApproximated(StringRef name) {
  return name == math::ExpOp::getOperationName() ||
         name == math::ErfOp::getOperationName();
}

/// floor(x) through a truncating conversion, which SSE2 has.
struct FloorByTruncation : OpRewritePattern<math::FloorOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FloorOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getOperand();
    if (!x.getType().isF32())
      return failure();
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    auto constant = [&](float value) {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getF32FloatAttr(value));
    };
    Value truncated = arith::SIToFPOp::create(
        rewriter, loc, f32, arith::FPToSIOp::create(rewriter, loc, i32, x));
    Value below = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OLT, x, truncated);
    Value down = arith::SelectOp::create(
        rewriter, loc, below,
        arith::SubFOp::create(rewriter, loc, truncated, constant(1.0f)),
        truncated);
    // From 2^23 on every f32 is an integer; fptosi of a larger one, an
    // infinity or a NaN is poison, which the select discards.
    Value small = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OLT,
        math::AbsFOp::create(rewriter, loc, x), constant(8388608.0f));
    Value floor = arith::SelectOp::create(rewriter, loc, small, down, x);
    // floor(-0.0) and floor(-0.5 < x < 0) keep their sign.
    rewriter.replaceOpWithNewOp<math::CopySignOp>(op, floor, x);
    return success();
  }
};

struct ApproximateMathPass
    : mstream::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, isApproximated);
    // SSE2 has no fused multiply-add: a multiply and an add.
    math::populateExpansionPatterns(patterns, {"fma"});
    patterns.add<FloorByTruncation>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
