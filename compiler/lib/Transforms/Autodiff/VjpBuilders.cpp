//===- VjpBuilders.cpp - building blocks of the VJPs ----------------------===//

#include "VjpBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mstream::lowering;
using utils::IteratorType;

Value mstream::lowering::multiply(OpBuilder &b, Location loc, Value lhs,
                                  Value rhs) {
  return buildElementwise(
      b, loc, ValueRange{lhs, rhs},
      [](OpBuilder &nb, Location l, ValueRange a) {
        return arith::MulFOp::create(nb, l, a[0], a[1]).getResult();
      });
}

Value mstream::lowering::addScaled(OpBuilder &b, Location loc, Value lhs,
                                   Value alpha, Value rhs) {
  return buildElementwise(
      b, loc, ValueRange{lhs, rhs},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value scaled = arith::MulFOp::create(nb, l, alpha, a[1]);
        return arith::AddFOp::create(nb, l, a[0], scaled).getResult();
      });
}

Value mstream::lowering::blend(OpBuilder &b, Location loc, Value beta, Value m,
                               Value g) {
  Value one = constant(b, loc, beta.getType(), 1.0);
  Value rest = arith::SubFOp::create(b, loc, one, beta);
  return buildElementwise(
      b, loc, ValueRange{m, g}, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value kept = arith::MulFOp::create(nb, l, beta, a[0]);
        Value fresh = arith::MulFOp::create(nb, l, rest, a[1]);
        return arith::AddFOp::create(nb, l, kept, fresh).getResult();
      });
}

Value mstream::lowering::scale(OpBuilder &b, Location loc, Value alpha,
                               Value x) {
  return buildElementwise(
      b, loc, x, [&](OpBuilder &nb, Location l, ValueRange a) {
        return arith::MulFOp::create(nb, l, alpha, a[0]).getResult();
      });
}

Value mstream::lowering::sumLeading(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<IteratorType> iterators(rank, IteratorType::reduction);
  iterators.back() = IteratorType::parallel;
  return buildGeneric(
      b, loc,
      filled(b, loc,
             RankedTensorType::get({type.getShape().back()},
                                   type.getElementType()),
             0.0),
      x, b.getMultiDimIdentityMap(rank), lastAxisMap(b.getContext(), rank),
      iterators, [](OpBuilder &nb, Location l, ValueRange a) {
        return arith::AddFOp::create(nb, l, a[1], a[0]).getResult();
      });
}

Value mstream::lowering::rawScalarCotangent(OpBuilder &b, Location loc,
                                            Value raw, Value lhs, Value rhs,
                                            Value factor) {
  auto type = cast<RankedTensorType>(lhs.getType());
  int64_t rank = type.getRank();
  auto scalarType = RankedTensorType::get({}, type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  Value total = buildGeneric(
      b, loc, filled(b, loc, scalarType, 0.0), ValueRange{lhs, rhs},
      {identity, identity}, AffineMap::get(rank, 0, {}, b.getContext()),
      SmallVector<IteratorType>(rank, IteratorType::reduction),
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value product = arith::MulFOp::create(nb, l, a[0], a[1]);
        return arith::AddFOp::create(nb, l, a[2], product).getResult();
      });
  auto rawType = cast<RankedTensorType>(raw.getType());
  return buildMap(
      b, loc, rawType, total,
      AffineMap::get(rawType.getRank(), 0, {}, b.getContext()),
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return arith::MulFOp::create(nb, l, a[0], factor).getResult();
      });
}

Value mstream::lowering::sigmoidDerivative(OpBuilder &b, Location loc,
                                           Value sigmoidValue) {
  Value one = constant(b, loc, sigmoidValue.getType(), 1.0);
  Value rest = arith::SubFOp::create(b, loc, one, sigmoidValue);
  return arith::MulFOp::create(b, loc, sigmoidValue, rest);
}

LayerNormGrads mstream::lowering::buildLayerNormVjp(OpBuilder &b, Location loc,
                                                    Value x, Value gain,
                                                    double eps, Value dy) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  Normalized parts = buildNormalize(b, loc, x, eps);
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap rows = leadingMap(ctx, rank, 1);

  Value dGain = sumLeading(b, loc, multiply(b, loc, dy, parts.normalized));
  Value g = buildMap(
      b, loc, type, ValueRange{dy, gain}, {identity, lastAxisMap(ctx, rank)},
      [](OpBuilder &nb, Location l, ValueRange a) {
        return arith::MulFOp::create(nb, l, a[0], a[1]).getResult();
      });
  Value sumG = buildTrailingReduction(
      b, loc, rank, 1, g, identity, 0.0,
      [](OpBuilder &nb, Location l, ValueRange a) {
        return arith::AddFOp::create(nb, l, a[1], a[0]).getResult();
      });
  Value sumGx = buildTrailingReduction(
      b, loc, rank, 1, ValueRange{g, parts.normalized}, {identity, identity},
      0.0, [](OpBuilder &nb, Location l, ValueRange a) {
        Value product = arith::MulFOp::create(nb, l, a[0], a[1]);
        return arith::AddFOp::create(nb, l, a[2], product).getResult();
      });
  Value width = constant(b, loc, type.getElementType(), type.getShape().back());
  Value dx = buildMap(
      b, loc, type, ValueRange{g, parts.normalized, sumG, sumGx, parts.invStd},
      {identity, identity, rows, rows, rows},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value meanG = arith::DivFOp::create(nb, l, a[2], width);
        Value meanGx = arith::DivFOp::create(nb, l, a[3], width);
        Value centered = arith::SubFOp::create(nb, l, a[0], meanG);
        Value projected = arith::MulFOp::create(nb, l, a[1], meanGx);
        Value inner = arith::SubFOp::create(nb, l, centered, projected);
        return arith::MulFOp::create(nb, l, a[4], inner).getResult();
      });
  return {dx, dGain};
}
