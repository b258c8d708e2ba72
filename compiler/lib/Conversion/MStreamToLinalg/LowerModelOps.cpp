//===- LowerModelOps.cpp - model and oracle ops to linalg -----------------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"
#include "mstream/Utils/ModelBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    AffineExpr bDim = getAffineDimExpr(0, ctx), t = getAffineDimExpr(1, ctx),
               d = getAffineDimExpr(2, ctx);
    Value table = op.getTok();
    // Positions 0 .. T-1 of the table.
    int64_t seq = op.getType().getDimSize(1);
    int64_t width = op.getType().getDimSize(2);
    Value positions = tensor::ExtractSliceOp::create(
        rewriter, loc, op.getPos(),
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                               rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(seq),
                               rewriter.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                               rewriter.getIndexAttr(1)});
    Value result = buildMap(
        rewriter, loc, op.getType(), ValueRange{op.getIds(), positions},
        {AffineMap::get(3, 0, {bDim, t}, ctx),
         AffineMap::get(3, 0, {t, d}, ctx)},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value row =
              arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value column = linalg::IndexOp::create(b, l, 2);
          Value token =
              tensor::ExtractOp::create(b, l, table, ValueRange{row, column});
          return arith::AddFOp::create(b, l, token, args[1]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

namespace {

struct LowerLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, buildLayerNorm(rewriter, op.getLoc(), op.getX(),
                                          op.getGain(),
                                          op.getEps().convertToDouble()));
    return success();
  }
};

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    AttentionForward forward = buildAttentionForward(
        rewriter, loc, op.getX(), op.getWQkv(), op.getHeads());
    Value out = buildLinear(rewriter, loc, forward.merged, op.getWOut());
    rewriter.replaceOp(op, expandLeading(rewriter, loc, out, op.getType()));
    return success();
  }
};

struct LowerMlp : OpRewritePattern<MlpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MlpOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value hidden = buildLinear(
        rewriter, loc, flattenTokens(rewriter, loc, op.getX()), op.getW1());
    Value out =
        buildLinear(rewriter, loc, gelu(rewriter, loc, hidden), op.getW2());
    rewriter.replaceOp(op, expandLeading(rewriter, loc, out, op.getType()));
    return success();
  }
};

struct LowerTiedHead : OpRewritePattern<TiedHeadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TiedHeadOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = buildLinear(
        rewriter, loc, flattenTokens(rewriter, loc, op.getX()), op.getTable());
    rewriter.replaceOp(op, expandLeading(rewriter, loc, logits, op.getType()));
    return success();
  }
};

struct LowerCrossEntropy : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = collapseLeading(rewriter, loc, op.getLogits(), 1);
    auto type = cast<RankedTensorType>(logits.getType());
    Type element = type.getElementType();
    int64_t positions = type.getDimSize(0);
    Value targets = collapseLeading(rewriter, loc, op.getTargets(), 0);
    auto [rowMax, rowSum] = buildLogSumExp(rewriter, loc, logits);
    // Per position: logsumexp - logits[target]; then the mean.
    Value perPosition = buildMap(
        rewriter, loc, cast<RankedTensorType>(rowMax.getType()),
        ValueRange{rowMax, rowSum, targets},
        {rewriter.getMultiDimIdentityMap(1), rewriter.getMultiDimIdentityMap(1),
         rewriter.getMultiDimIdentityMap(1)},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value column =
              arith::IndexCastOp::create(b, l, b.getIndexType(), args[2]);
          Value picked =
              tensor::ExtractOp::create(b, l, logits, ValueRange{row, column});
          Value lse = arith::AddFOp::create(
              b, l, math::LogOp::create(b, l, args[1]), args[0]);
          return arith::SubFOp::create(b, l, lse, picked).getResult();
        });
    Value total = buildTrailingReduction(
        rewriter, loc, 1, 1, perPosition, rewriter.getMultiDimIdentityMap(1),
        0.0, [](OpBuilder &b, Location l, ValueRange args) {
          return arith::AddFOp::create(b, l, args[1], args[0]).getResult();
        });
    Value count = constant(rewriter, loc, element, positions);
    Value mean = buildElementwise(
        rewriter, loc, total, [&](OpBuilder &b, Location l, ValueRange a) {
          return arith::DivFOp::create(b, l, a[0], count).getResult();
        });
    rewriter.replaceOp(op, mean);
    return success();
  }
};

} // namespace

void mstream::populateLowerModelOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerEmbedding, LowerLayerNorm, LowerAttention, LowerMlp,
               LowerTiedHead, LowerCrossEntropy>(patterns.getContext());
}
