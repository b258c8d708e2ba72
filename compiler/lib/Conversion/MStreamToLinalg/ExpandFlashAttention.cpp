//===- ExpandFlashAttention.cpp - mstream-expand-flash-attention ----------===//
//
// The GPU pipelines have no flash kernel yet: they take attention's core as
// products (cuBLAS) and generated softmax kernels, with the [N, T, T]
// scores in memory.
//
//===----------------------------------------------------------------------===//

#include "mstream/Conversion/MStreamToLinalg/Passes.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Utils/LinalgBuilders.h"
#include "mstream/Utils/ModelBuilders.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mstream {
#define GEN_PASS_DEF_EXPANDFLASHATTENTION
#include "mstream/Conversion/MStreamToLinalg/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

struct ExpandForward : OpRewritePattern<FlashAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlashAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() == 0)
      return rewriter.notifyMatchFailure(op, "on buffers");
    Location loc = op.getLoc();
    Value scores = buildOracleBatchMatmul(rewriter, loc, op.getQ(), op.getK(),
                                          false, true);
    CausalSoftmax softmax = buildCausalSoftmax(rewriter, loc, scores,
                                               op.getScale().convertToDouble());
    Value context = buildOracleBatchMatmul(rewriter, loc, softmax.probs,
                                           op.getV(), false, false);
    // Nothing reads the lse once the VJP is expanded too; the init stands
    // in for it then.
    Value lse = op.getLse();
    if (!op.getResult(1).use_empty()) {
      AffineMap identity = rewriter.getMultiDimIdentityMap(2);
      lse = buildMap(
          rewriter, loc, cast<RankedTensorType>(lse.getType()),
          ValueRange{softmax.rowMax, softmax.rowSum}, {identity, identity},
          [](OpBuilder &b, Location l, ValueRange a) {
            Value log = math::LogOp::create(b, l, a[1]);
            return arith::AddFOp::create(b, l, a[0], log).getResult();
          });
    }
    rewriter.replaceOp(op, {context, lse});
    return success();
  }
};

struct ExpandGrad : OpRewritePattern<FlashAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlashAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() == 0)
      return rewriter.notifyMatchFailure(op, "on buffers");
    Location loc = op.getLoc();
    double scale = op.getScale().convertToDouble();
    Value q = op.getQ(), k = op.getK(), v = op.getV(), dout = op.getDout();
    Value scores = buildOracleBatchMatmul(rewriter, loc, q, k, false, true);
    Value probs = buildCausalSoftmax(rewriter, loc, scores, scale).probs;
    Value dProbs = buildOracleBatchMatmul(rewriter, loc, dout, v, false, true);
    Value dv = buildOracleBatchMatmul(rewriter, loc, probs, dout, true, false);
    // dS = scale * P (dP - rowsum(dP P)); masked P are 0.
    AffineMap identity = rewriter.getMultiDimIdentityMap(3);
    AffineMap rows = leadingMap(getContext(), 3, 1);
    Value rowDot = buildTrailingReduction(
        rewriter, loc, 3, 1, ValueRange{dProbs, probs}, {identity, identity},
        0.0, [](OpBuilder &b, Location l, ValueRange a) {
          Value product = arith::MulFOp::create(b, l, a[0], a[1]);
          return arith::AddFOp::create(b, l, a[2], product).getResult();
        });
    Value factor =
        constant(rewriter, loc, getElementTypeOrSelf(scores.getType()), scale);
    Value dScores = buildMap(
        rewriter, loc, cast<RankedTensorType>(probs.getType()),
        ValueRange{dProbs, probs, rowDot}, {identity, identity, rows},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value shifted = arith::SubFOp::create(b, l, a[0], a[2]);
          Value product = arith::MulFOp::create(b, l, a[1], shifted);
          return arith::MulFOp::create(b, l, factor, product).getResult();
        });
    Value dq = buildOracleBatchMatmul(rewriter, loc, dScores, k, false, false);
    Value dk = buildOracleBatchMatmul(rewriter, loc, dScores, q, true, false);
    rewriter.replaceOp(op, {dq, dk, dv});
    return success();
  }
};

struct ExpandFlashAttentionPass
    : mstream::impl::ExpandFlashAttentionBase<ExpandFlashAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandForward, ExpandGrad>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
