//===- ModelBuilders.cpp - model pieces shared by lowering and VJPs -------===//

#include "mstream/Utils/ModelBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mstream::lowering;

RowStats mstream::lowering::buildRowStats(OpBuilder &b, Location loc, Value x,
                                          double eps) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type element = type.getElementType();
  Value width = constant(b, loc, element, type.getShape().back());
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap rows = leadingMap(b.getContext(), rank, 1);

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
  return {mean, invStd};
}

Normalized mstream::lowering::buildNormalize(OpBuilder &b, Location loc,
                                             Value x, double eps) {
  RowStats stats = buildRowStats(b, loc, x, eps);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  AffineMap rows = leadingMap(b.getContext(), rank, 1);
  Value normalized = buildMap(
      b, loc, type, ValueRange{x, stats.mean, stats.invStd},
      {b.getMultiDimIdentityMap(rank), rows, rows},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, l, args[0], args[1]);
        return arith::MulFOp::create(nb, l, centered, args[2]).getResult();
      });
  return {normalized, stats.invStd};
}

Value mstream::lowering::buildLayerNorm(OpBuilder &b, Location loc, Value x,
                                        Value gain, double eps) {
  RowStats stats = buildRowStats(b, loc, x, eps);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  AffineMap rows = leadingMap(b.getContext(), rank, 1);
  // One pass: w * (x - mean) * invStd.
  return buildMap(
      b, loc, type, ValueRange{x, stats.mean, stats.invStd, gain},
      {b.getMultiDimIdentityMap(rank), rows, rows,
       lastAxisMap(b.getContext(), rank)},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, l, args[0], args[1]);
        Value normed = arith::MulFOp::create(nb, l, centered, args[2]);
        return arith::MulFOp::create(nb, l, normed, args[3]).getResult();
      });
}

Value mstream::lowering::flattenTokens(OpBuilder &b, Location loc, Value x) {
  return collapseLeading(b, loc, x, 1);
}

/// Shapes of the head split: `[B, T, 3, H, Dh]` and `[B, H, T, Dh]`.
static std::pair<RankedTensorType, RankedTensorType>
headTypes(Value flat, int64_t batch, int64_t heads, int64_t chunks) {
  auto type = cast<RankedTensorType>(flat.getType());
  int64_t seq = type.getDimSize(0) / batch;
  int64_t headDim = type.getDimSize(1) / chunks / heads;
  Type element = type.getElementType();
  return {RankedTensorType::get({batch, seq, chunks, heads, headDim}, element),
          RankedTensorType::get({batch, heads, seq, headDim}, element)};
}

static Value copy(OpBuilder &, Location, ValueRange args) { return args[0]; }

Value mstream::lowering::splitHeads(OpBuilder &b, Location loc, Value qkv,
                                    int64_t batch, int64_t heads, int64_t chunk,
                                    int64_t chunks) {
  auto [split, perHead] = headTypes(qkv, batch, heads, chunks);
  MLIRContext *ctx = b.getContext();
  Value qkv5 =
      tensor::ExpandShapeOp::create(b, loc, split, qkv, {{0, 1}, {2, 3, 4}});
  // Iterating (b, h, t, j), read qkv5[b, t, chunk, h, j].
  AffineExpr bd = getAffineDimExpr(0, ctx), h = getAffineDimExpr(1, ctx),
             t = getAffineDimExpr(2, ctx), j = getAffineDimExpr(3, ctx);
  Value value =
      buildMap(b, loc, perHead, qkv5,
               AffineMap::get(
                   4, 0, {bd, t, getAffineConstantExpr(chunk, ctx), h, j}, ctx),
               copy);
  return tensor::CollapseShapeOp::create(b, loc, value, {{0, 1}, {2}, {3}});
}

Value mstream::lowering::mergeHeads(OpBuilder &b, Location loc, Value perHead,
                                    int64_t batch, int64_t heads) {
  auto type = cast<RankedTensorType>(perHead.getType());
  int64_t seq = type.getDimSize(1), headDim = type.getDimSize(2);
  Type element = type.getElementType();
  MLIRContext *ctx = b.getContext();
  Value heads4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({batch, heads, seq, headDim}, element),
      perHead, {{0, 1}, {2}, {3}});
  // Iterating (b, t, h, j), read heads4[b, h, t, j].
  Value merged = buildMap(
      b, loc, RankedTensorType::get({batch, seq, heads, headDim}, element),
      heads4, AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 2, 1, 3}, ctx),
      copy);
  return tensor::CollapseShapeOp::create(b, loc, merged, {{0, 1}, {2, 3}});
}

Value mstream::lowering::joinQkv(OpBuilder &b, Location loc, Value q, Value k,
                                 Value v, int64_t batch, int64_t heads) {
  auto type = cast<RankedTensorType>(q.getType());
  int64_t seq = type.getDimSize(1), headDim = type.getDimSize(2);
  Type element = type.getElementType();
  MLIRContext *ctx = b.getContext();
  auto headsType = RankedTensorType::get({batch, heads, seq, headDim}, element);
  SmallVector<Value> parts;
  for (Value part : {q, k, v})
    parts.push_back(tensor::ExpandShapeOp::create(b, loc, headsType, part,
                                                  {{0, 1}, {2}, {3}}));
  // Iterating (b, t, c, h, j), read chunk c's [b, h, t, j].
  AffineMap read =
      AffineMap::get(5, 0,
                     {getAffineDimExpr(0, ctx), getAffineDimExpr(3, ctx),
                      getAffineDimExpr(1, ctx), getAffineDimExpr(4, ctx)},
                     ctx);
  Value joined = buildMap(
      b, loc, RankedTensorType::get({batch, seq, 3, heads, headDim}, element),
      parts, {read, read, read}, [](OpBuilder &nb, Location l, ValueRange a) {
        Value chunk = linalg::IndexOp::create(nb, l, 2);
        Value one = arith::ConstantIndexOp::create(nb, l, 1);
        Value isQ =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, chunk, one);
        Value isK =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, chunk, one);
        Value kv = arith::SelectOp::create(nb, l, isK, a[1], a[2]);
        return arith::SelectOp::create(nb, l, isQ, a[0], kv).getResult();
      });
  return tensor::CollapseShapeOp::create(b, loc, joined, {{0, 1}, {2, 3, 4}});
}

CausalSoftmax mstream::lowering::buildCausalSoftmax(OpBuilder &b, Location loc,
                                                    Value scores,
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
  Value probs = buildMap(
      b, loc, type, ValueRange{scores, rowMax, rowSum}, {identity, rows, rows},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::DivFOp::create(nb, l, exponent(nb, l, args[0], args[1]),
                                     args[2])
            .getResult();
      });
  return {probs, rowMax, rowSum};
}

double mstream::lowering::attentionScale(Value x, int64_t heads) {
  auto type = cast<RankedTensorType>(x.getType());
  return 1.0 / std::sqrt(double(type.getShape().back() / heads));
}

AttentionForward mstream::lowering::buildAttentionForward(OpBuilder &b,
                                                          Location loc, Value x,
                                                          Value wQkv,
                                                          int64_t heads) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t batch = type.getDimSize(0);
  AttentionForward f;
  f.input = flattenTokens(b, loc, x);
  Value qkv = buildLinear(b, loc, f.input, wQkv);
  f.q = splitHeads(b, loc, qkv, batch, heads, 0);
  f.k = splitHeads(b, loc, qkv, batch, heads, 1);
  f.v = splitHeads(b, loc, qkv, batch, heads, 2);
  auto qType = cast<RankedTensorType>(f.q.getType());
  Value out = tensor::EmptyOp::create(b, loc, qType, ValueRange{});
  Value lse = tensor::EmptyOp::create(
      b, loc,
      RankedTensorType::get(qType.getShape().drop_back(),
                            qType.getElementType()),
      ValueRange{});
  auto flash = mstream::FlashAttentionOp::create(
      b, loc, TypeRange{out.getType(), lse.getType()}, f.q, f.k, f.v, out, lse,
      b.getF64FloatAttr(attentionScale(x, heads)));
  f.context = flash.getResult(0);
  f.lse = flash.getResult(1);
  f.merged = mergeHeads(b, loc, f.context, batch, heads);
  return f;
}

LogSumExp mstream::lowering::buildLogSumExp(OpBuilder &b, Location loc,
                                            Value logits) {
  AffineMap identity = b.getMultiDimIdentityMap(2);
  AffineMap rows = leadingMap(b.getContext(), 2, 1);
  Value rowMax = buildTrailingReduction(
      b, loc, 2, 1, logits, identity, -std::numeric_limits<double>::infinity(),
      [](OpBuilder &nb, Location l, ValueRange args) {
        return arith::MaximumFOp::create(nb, l, args[1], args[0]).getResult();
      });
  Value rowSum = buildTrailingReduction(
      b, loc, 2, 1, ValueRange{logits, rowMax}, {identity, rows}, 0.0,
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value shifted = arith::SubFOp::create(nb, l, args[0], args[1]);
        return arith::AddFOp::create(nb, l, args[2],
                                     math::ExpOp::create(nb, l, shifted))
            .getResult();
      });
  return {rowMax, rowSum};
}

Value mstream::lowering::gelu(OpBuilder &b, Location loc, Value x) {
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  Value half = constant(b, loc, element, 0.5);
  Value one = constant(b, loc, element, 1.0);
  Value invSqrt2 = constant(b, loc, element, M_SQRT1_2);
  // x * 0.5 * (1 + erf(x / sqrt(2))).
  return buildElementwise(
      b, loc, x, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value scaled = arith::MulFOp::create(nb, l, a[0], invSqrt2);
        Value erf = math::ErfOp::create(nb, l, scaled);
        Value cdf = arith::AddFOp::create(nb, l, one, erf);
        Value halfX = arith::MulFOp::create(nb, l, a[0], half);
        return arith::MulFOp::create(nb, l, halfX, cdf).getResult();
      });
}

Value mstream::lowering::geluDerivative(OpBuilder &b, Location loc, Value x) {
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  Value half = constant(b, loc, element, 0.5);
  Value one = constant(b, loc, element, 1.0);
  Value invSqrt2 = constant(b, loc, element, M_SQRT1_2);
  Value invSqrt2Pi = constant(b, loc, element, 0.5 * M_2_SQRTPI * M_SQRT1_2);
  // Φ(x) + x φ(x), φ(x) = exp(-x²/2) / sqrt(2π).
  return buildElementwise(
      b, loc, x, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value scaled = arith::MulFOp::create(nb, l, a[0], invSqrt2);
        Value erf = math::ErfOp::create(nb, l, scaled);
        Value cdf = arith::MulFOp::create(
            nb, l, half, arith::AddFOp::create(nb, l, one, erf));
        Value square = arith::MulFOp::create(nb, l, a[0], a[0]);
        Value halfSquare = arith::MulFOp::create(nb, l, square, half);
        Value density = arith::MulFOp::create(
            nb, l, invSqrt2Pi,
            math::ExpOp::create(nb, l,
                                arith::NegFOp::create(nb, l, halfSquare)));
        Value tail = arith::MulFOp::create(nb, l, a[0], density);
        return arith::AddFOp::create(nb, l, cdf, tail).getResult();
      });
}
