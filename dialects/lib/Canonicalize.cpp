//===- Canonicalize.cpp - canonicalization patterns of the step ops -------===//
//
// Each rewrite is an exact identity of the models' math (docs/models.md) for
// finite streams: a coefficient that maps to exactly 0 or 1 in the element type
// turns one scheme into a simpler one of the same family.
//
//===----------------------------------------------------------------------===//

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Dialect/ScalarMaps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mstream;

namespace {

/// tmm with softplus(nu) == 1 is nesterov: x' = x + 1 * v'.
struct TmmWithUnitNuIsNesterov : OpRewritePattern<TmmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TmmOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSoftplusExactlyOne(op.getNu()))
      return rewriter.notifyMatchFailure(op, "softplus(nu) is not exactly 1");
    rewriter.replaceOpWithNewOp<NesterovOp>(
        op, op.getXNew().getType(), op.getVNew().getType(), op.getX(),
        op.getV(), op.getGrad(), op.getBeta(), op.getGamma(), op.getLnGain(),
        op.getLnEpsAttr());
    return success();
  }
};

/// adamw with sigmoid(lambda) == 0 is adam: (1 - 0) x == x.
struct AdamWWithoutDecayIsAdam : OpRewritePattern<AdamWOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamWOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSigmoidExactlyZero(op.getLambda()))
      return rewriter.notifyMatchFailure(op,
                                         "sigmoid(lambda) is not exactly 0");
    rewriter.replaceOpWithNewOp<AdamOp>(
        op, op.getResultTypes(), op.getX(), op.getM(), op.getS(), op.getGrad(),
        op.getBeta1(), op.getBeta2(), op.getGamma(), op.getLnGain(),
        op.getLnEpsAttr(), op.getDenomEpsAttr());
    return success();
  }
};

/// adam with sigmoid(beta1) == 0 has m' = g: it is rmsprop, and m' is g.
struct AdamWithoutMomentumIsRmsProp : OpRewritePattern<AdamOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSigmoidExactlyZero(op.getBeta1()))
      return rewriter.notifyMatchFailure(op, "sigmoid(beta1) is not exactly 0");
    auto rmsprop = RmsPropOp::create(
        rewriter, op.getLoc(), op.getXNew().getType(), op.getSNew().getType(),
        op.getX(), op.getS(), op.getGrad(), op.getBeta2(), op.getGamma(),
        op.getLnGain(), op.getLnEpsAttr(), op.getDenomEpsAttr());
    rewriter.replaceOp(
        op, ValueRange{rmsprop.getXNew(), op.getGrad(), rmsprop.getSNew()});
    return success();
  }
};

/// muon with sigmoid(beta) == 0 has m' = g: it is ortho, and m' is g.
struct MuonWithoutMomentumIsOrtho : OpRewritePattern<MuonOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MuonOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSigmoidExactlyZero(op.getBeta()))
      return rewriter.notifyMatchFailure(op, "sigmoid(beta) is not exactly 0");
    auto ortho = OrthoOp::create(
        rewriter, op.getLoc(), op.getXNew().getType(), op.getX(), op.getGrad(),
        op.getGamma(), op.getLnGain(), op.getHeadsAttr(),
        op.getNsIterationsAttr(), op.getNsCoefficientsAttr(), op.getNsEpsAttr(),
        op.getLnEpsAttr());
    rewriter.replaceOp(op, ValueRange{ortho.getXNew(), op.getGrad()});
    return success();
  }
};

/// soap with sigmoid(beta1) == 0 has M' = G: it is shampoo, and m' is g.
struct SoapWithoutMomentumIsShampoo : OpRewritePattern<SoapOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoapOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSigmoidExactlyZero(op.getBeta1()))
      return rewriter.notifyMatchFailure(op, "sigmoid(beta1) is not exactly 0");
    auto shampoo = ShampooOp::create(
        rewriter, op.getLoc(), op.getXNew().getType(), op.getRNew().getType(),
        op.getX(), op.getR(), op.getGrad(), op.getBetaR(), op.getGamma(),
        op.getLnGain(), op.getHeadsAttr(), op.getInvSqrtIterationsAttr(),
        op.getInvSqrtEpsAttr(), op.getLnEpsAttr());
    rewriter.replaceOp(
        op, ValueRange{shampoo.getXNew(), op.getGrad(), shampoo.getRNew()});
    return success();
  }
};

} // namespace

void TmmOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<TmmWithUnitNuIsNesterov>(context);
}

void AdamWOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<AdamWWithoutDecayIsAdam>(context);
}

void AdamOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<AdamWithoutMomentumIsRmsProp>(context);
}

void MuonOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<MuonWithoutMomentumIsOrtho>(context);
}

void SoapOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<SoapWithoutMomentumIsShampoo>(context);
}
