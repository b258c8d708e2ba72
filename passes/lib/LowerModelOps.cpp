//===- LowerModelOps.cpp - model and oracle ops to linalg -----------------===//

#include "LinalgBuilders.h"
#include "LoweringPatterns.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

/// `[B, T, d]` -> `[B*T, d]` and back, around the GEMMs of an oracle.
Value flattenTokens(OpBuilder &b, Location loc, Value x) {
  return collapseLeading(b, loc, x, 1);
}

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

/// w * (x - mean) / sqrt(var + eps) over the last axis, two-pass variance.
static Value buildLayerNorm(OpBuilder &b, Location loc, Value x, Value gain,
                            double eps) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  Type element = type.getElementType();
  Value width = constant(b, loc, element, type.getShape().back());
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap rows = leadingMap(ctx, rank, 1);

  Value sum = buildTrailingReduction(
      b, loc, rank, 1, x, identity, 0.0,
      [](OpBuilder &nb, Location l, ValueRange args) {
        return arith::AddFOp::create(nb, l, args[1], args[0]).getResult();
      });
  Value mean = buildElementwise(
      b, loc, sum, [&](OpBuilder &nb, Location l, ValueRange a) {
        return arith::DivFOp::create(nb, l, a[0], width).getResult();
      });
  Value squares = buildTrailingReduction(
      b, loc, rank, 1, ValueRange{x, mean}, {identity, rows}, 0.0,
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, l, args[0], args[1]);
        Value square = arith::MulFOp::create(nb, l, centered, centered);
        return arith::AddFOp::create(nb, l, args[2], square).getResult();
      });
  Value epsilon = constant(b, loc, element, eps);
  Value one = constant(b, loc, element, 1.0);
  Value invStd = buildElementwise(
      b, loc, squares, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value var = arith::DivFOp::create(nb, l, a[0], width);
        Value shifted = arith::AddFOp::create(nb, l, var, epsilon);
        Value root = math::SqrtOp::create(nb, l, shifted);
        return arith::DivFOp::create(nb, l, one, root).getResult();
      });
  return buildMap(
      b, loc, type, ValueRange{x, mean, invStd, gain},
      {identity, rows, rows, lastAxisMap(ctx, rank)},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, l, args[0], args[1]);
        Value normed = arith::MulFOp::create(nb, l, centered, args[2]);
        return arith::MulFOp::create(nb, l, normed, args[3]).getResult();
      });
}

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

/// Causal softmax of `scale * scores` over the last axis of `[N, T, T]`;
/// keys after the query get probability 0.
Value buildCausalSoftmax(OpBuilder &b, Location loc, Value scores,
                         double scale) {
  auto type = cast<RankedTensorType>(scores.getType());
  Type element = type.getElementType();
  MLIRContext *ctx = b.getContext();
  AffineMap identity = b.getMultiDimIdentityMap(3);
  AffineMap rows = leadingMap(ctx, 3, 1);
  Value factor = constant(b, loc, element, scale);
  Value negInf =
      constant(b, loc, element, -std::numeric_limits<double>::infinity());
  Value zero = constant(b, loc, element, 0.0);
  // True where key j may be seen by query i (j <= i).
  auto visible = [](OpBuilder &nb, Location l) {
    Value query = linalg::IndexOp::create(nb, l, 1);
    Value key = linalg::IndexOp::create(nb, l, 2);
    return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ule, key, query)
        .getResult();
  };
  Value rowMax = buildTrailingReduction(
      b, loc, 3, 1, scores, identity, -std::numeric_limits<double>::infinity(),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value scaled = arith::MulFOp::create(nb, l, args[0], factor);
        Value masked =
            arith::SelectOp::create(nb, l, visible(nb, l), scaled, negInf);
        return arith::MaximumFOp::create(nb, l, args[1], masked).getResult();
      });
  auto exponent = [&](OpBuilder &nb, Location l, Value score, Value max) {
    Value scaled = arith::MulFOp::create(nb, l, score, factor);
    Value shifted = arith::SubFOp::create(nb, l, scaled, max);
    Value e = math::ExpOp::create(nb, l, shifted);
    return arith::SelectOp::create(nb, l, visible(nb, l), e, zero).getResult();
  };
  Value rowSum = buildTrailingReduction(
      b, loc, 3, 1, ValueRange{scores, rowMax}, {identity, rows}, 0.0,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::AddFOp::create(nb, l, args[2],
                                     exponent(nb, l, args[0], args[1]))
            .getResult();
      });
  return buildMap(
      b, loc, type, ValueRange{scores, rowMax, rowSum}, {identity, rows, rows},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::DivFOp::create(nb, l, exponent(nb, l, args[0], args[1]),
                                     args[2])
            .getResult();
      });
}

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    RankedTensorType type = op.getType();
    Type element = type.getElementType();
    int64_t batch = type.getDimSize(0), seq = type.getDimSize(1),
            width = type.getDimSize(2), heads = op.getHeads(),
            headDim = width / heads;

    Value qkv = buildLinear(
        rewriter, loc, flattenTokens(rewriter, loc, op.getX()), op.getWQkv());
    // [B*T, 3d] -> [B, T, 3, H, Dh]: chunk c of head h at feature c*d+h*Dh.
    auto split =
        RankedTensorType::get({batch, seq, 3, heads, headDim}, element);
    Value qkv5 = tensor::ExpandShapeOp::create(rewriter, loc, split, qkv,
                                               {{0, 1}, {2, 3, 4}});
    auto headsType =
        RankedTensorType::get({batch, heads, seq, headDim}, element);
    AffineExpr bDim = getAffineDimExpr(0, ctx), h = getAffineDimExpr(1, ctx),
               t = getAffineDimExpr(2, ctx), j = getAffineDimExpr(3, ctx);
    auto chunk = [&](int64_t c) {
      Value perHead = buildMap(
          rewriter, loc, headsType, qkv5,
          AffineMap::get(4, 0, {bDim, t, getAffineConstantExpr(c, ctx), h, j},
                         ctx),
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });
      return tensor::CollapseShapeOp::create(rewriter, loc, perHead,
                                             {{0, 1}, {2}, {3}})
          .getResult();
    };
    Value q = chunk(0), k = chunk(1), v = chunk(2);
    Value scores = buildBatchMatmul(rewriter, loc, q, k, /*transposeB=*/true);
    Value probs = buildCausalSoftmax(rewriter, loc, scores,
                                     1.0 / std::sqrt(double(headDim)));
    Value context = buildBatchMatmul(rewriter, loc, probs, v, false);
    // [B*H, T, Dh] -> [B, T, H, Dh] -> [B*T, d].
    Value context4 = tensor::ExpandShapeOp::create(rewriter, loc, headsType,
                                                   context, {{0, 1}, {2}, {3}});
    Value merged = buildMap(
        rewriter, loc,
        RankedTensorType::get({batch, seq, heads, headDim}, element), context4,
        // Iterating (b, t, h, j), read context4[b, h, t, j].
        AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 2, 1, 3}, ctx),
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    Value flat = tensor::CollapseShapeOp::create(rewriter, loc, merged,
                                                 {{0, 1}, {2, 3}});
    Value out = buildLinear(rewriter, loc, flat, op.getWOut());
    rewriter.replaceOp(op, expandLeading(rewriter, loc, out, type));
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
    Type element = op.getType().getElementType();
    Value half = constant(rewriter, loc, element, 0.5);
    Value one = constant(rewriter, loc, element, 1.0);
    Value invSqrt2 = constant(rewriter, loc, element, M_SQRT1_2);
    // The exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))).
    Value activated = buildElementwise(
        rewriter, loc, hidden, [&](OpBuilder &b, Location l, ValueRange a) {
          Value scaled = arith::MulFOp::create(b, l, a[0], invSqrt2);
          Value cdf = arith::AddFOp::create(b, l, one,
                                            math::ErfOp::create(b, l, scaled));
          Value halfX = arith::MulFOp::create(b, l, a[0], half);
          return arith::MulFOp::create(b, l, halfX, cdf).getResult();
        });
    Value out = buildLinear(rewriter, loc, activated, op.getW2());
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
    MLIRContext *ctx = getContext();
    AffineMap identity = rewriter.getMultiDimIdentityMap(2);
    AffineMap rows = leadingMap(ctx, 2, 1);
    Value rowMax = buildTrailingReduction(
        rewriter, loc, 2, 1, logits, identity,
        -std::numeric_limits<double>::infinity(),
        [](OpBuilder &b, Location l, ValueRange args) {
          return arith::MaximumFOp::create(b, l, args[1], args[0]).getResult();
        });
    Value rowSum = buildTrailingReduction(
        rewriter, loc, 2, 1, ValueRange{logits, rowMax}, {identity, rows}, 0.0,
        [](OpBuilder &b, Location l, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
          return arith::AddFOp::create(b, l, args[2],
                                       math::ExpOp::create(b, l, shifted))
              .getResult();
        });
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
