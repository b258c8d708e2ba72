//===- MatrixBuilders.cpp - per-token matrix pieces -----------------------===//

#include "mstream/Utils/MatrixBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;
using namespace mstream::lowering;

/// 1 on the diagonal of the trailing two axes, else 0.
Value mstream::lowering::isDiagonal(OpBuilder &b, Location loc, unsigned rank) {
  Value row = linalg::IndexOp::create(b, loc, rank - 2);
  Value column = linalg::IndexOp::create(b, loc, rank - 1);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, row, column);
}

/// Per matrix `max(||z||_F, clamp)`, shape `[N]`.
Value mstream::lowering::frobeniusNorm(OpBuilder &b, Location loc, Value z,
                                       double clamp) {
  Value squares = buildTrailingReduction(
      b, loc, 3, 2, z, b.getMultiDimIdentityMap(3), 0.0,
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value square = arith::MulFOp::create(nb, l, args[0], args[0]);
        return arith::AddFOp::create(nb, l, args[1], square).getResult();
      });
  Type element = cast<RankedTensorType>(z.getType()).getElementType();
  Value floor = constant(b, loc, element, clamp);
  return buildElementwise(
      b, loc, squares, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value norm = math::SqrtOp::create(nb, l, a[0]);
        return arith::MaximumFOp::create(nb, l, norm, floor).getResult();
      });
}

/// `z[n, ...] op scalars[n]` for a per-matrix scalar.
Value mstream::lowering::scaleMatrices(OpBuilder &b, Location loc, Value z,
                                       Value perMatrix, bool divide) {
  auto type = cast<RankedTensorType>(z.getType());
  AffineMap first = AffineMap::get(3, 0, b.getAffineDimExpr(0));
  return buildMap(
      b, loc, type, ValueRange{z, perMatrix},
      {b.getMultiDimIdentityMap(3), first},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        if (divide)
          return arith::DivFOp::create(nb, l, args[0], args[1]).getResult();
        return arith::MulFOp::create(nb, l, args[0], args[1]).getResult();
      });
}

/// Reads `[N, m, m]` element (n, i, j) at (n, j, i).
static AffineMap transposedMap(OpBuilder &b) {
  return AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 2, 1},
                                      b.getContext());
}

Value mstream::lowering::transposeMatrices(OpBuilder &b, Location loc,
                                           Value z) {
  return buildMap(b, loc, cast<RankedTensorType>(z.getType()), z,
                  transposedMap(b),
                  [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

Value mstream::lowering::symmetricPart(OpBuilder &b, Location loc, Value m) {
  Type element = cast<RankedTensorType>(m.getType()).getElementType();
  Value half = constant(b, loc, element, 0.5);
  return buildMap(b, loc, cast<RankedTensorType>(m.getType()), ValueRange{m, m},
                  {b.getMultiDimIdentityMap(3), transposedMap(b)},
                  [&](OpBuilder &nb, Location l, ValueRange a) {
                    Value sum = arith::AddFOp::create(nb, l, a[0], a[1]);
                    return arith::MulFOp::create(nb, l, half, sum).getResult();
                  });
}

Value mstream::lowering::identityCombination(OpBuilder &b, Location loc,
                                             double alpha, Value a, double beta,
                                             Value bm, double gamma) {
  Type element = cast<RankedTensorType>(a.getType()).getElementType();
  Value alphaV = constant(b, loc, element, alpha);
  Value betaV = constant(b, loc, element, beta);
  Value gammaV = constant(b, loc, element, gamma);
  Value zero = constant(b, loc, element, 0.0);
  SmallVector<Value> inputs = {a};
  if (bm)
    inputs.push_back(bm);
  return buildElementwise(
      b, loc, inputs, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value diagonal =
            arith::SelectOp::create(nb, l, isDiagonal(nb, l, 3), alphaV, zero);
        Value sum = arith::AddFOp::create(
            nb, l, diagonal, arith::MulFOp::create(nb, l, betaV, args[0]));
        if (args.size() > 1)
          sum = arith::AddFOp::create(
              nb, l, sum, arith::MulFOp::create(nb, l, gammaV, args[1]));
        return sum;
      });
}

Value mstream::lowering::matrixDot(OpBuilder &b, Location loc, Value lhs,
                                   Value rhs) {
  AffineMap identity = b.getMultiDimIdentityMap(3);
  return buildTrailingReduction(
      b, loc, 3, 2, ValueRange{lhs, rhs}, {identity, identity}, 0.0,
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value product = arith::MulFOp::create(nb, l, a[0], a[1]);
        return arith::AddFOp::create(nb, l, a[2], product).getResult();
      });
}

Value mstream::lowering::identityMatrices(OpBuilder &b, Location loc,
                                          RankedTensorType type) {
  Value one = constant(b, loc, type.getElementType(), 1.0);
  Value zero = constant(b, loc, type.getElementType(), 0.0);
  unsigned rank = type.getRank();
  return buildMap(b, loc, type, ValueRange{}, {},
                  [&](OpBuilder &nb, Location l, ValueRange) {
                    return arith::SelectOp::create(
                               nb, l, isDiagonal(nb, l, rank), one, zero)
                        .getResult();
                  });
}

bool mstream::lowering::gramOnRows(Value y) {
  auto type = cast<RankedTensorType>(y.getType());
  return type.getDimSize(1) < type.getDimSize(2);
}

namespace {

/// The Gram matrix of `y` on its short side (gramOnRows).
Value shortGram(OpBuilder &b, Location loc, Value y, MatmulBuilder matmul) {
  bool rows = gramOnRows(y);
  return matmul(b, loc, y, y, /*transposeA=*/!rows, /*transposeB=*/rows);
}

/// S² for an S that is exactly symmetric (a Gram, or a combination of Grams
/// and I): S Sᵀ on the BLAS, which the runtime then sees as a product of
/// one operand with its transpose and runs as ssyrk, in half the
/// multiply-adds; S S in generated loops, whose innermost loop then runs
/// along S's rows.
Value symmetricSquare(OpBuilder &b, Location loc, Value s,
                      MatmulBuilder matmul) {
  return matmul(b, loc, s, s, false, matmul == buildBatchMatmul);
}

/// p(A) = aI + bA + cA² for `coeffs` = [a, b, c].
Value gramPolynomial(OpBuilder &b, Location loc, Value gram,
                     ArrayRef<double> coeffs, MatmulBuilder matmul) {
  Value gram2 = symmetricSquare(b, loc, gram, matmul);
  return identityCombination(b, loc, coeffs[0], gram, coeffs[1], gram2,
                             coeffs[2]);
}

/// Newton-Schulz steps between two Gram recomputations: P_k's norm, and so
/// its rounding error relative to Y_k's, grows up to 3.4x per step. fp32
/// against fp64 NS5 on 512 x 2048 and 512 x 1536 (random, rank 8 plus
/// noise, decaying spectra): within 1e-4 of the largest entry with a
/// recomputation every 3 steps, 3e-4 without, 3e-5 for plain fp32 NS5.
/// PyTorch's Muon runs NS5 in bf16.
constexpr int64_t kGramSegment = 3;

} // namespace

NewtonSchulzPoly mstream::lowering::newtonSchulzPoly(OpBuilder &b, Location loc,
                                                     Value y,
                                                     ArrayRef<double> coeffs,
                                                     MatmulBuilder matmul) {
  Value gram = shortGram(b, loc, y, matmul);
  return {gram, gramPolynomial(b, loc, gram, coeffs, matmul)};
}

Value mstream::lowering::newtonSchulzStep(OpBuilder &b, Location loc, Value y,
                                          ArrayRef<double> coeffs,
                                          MatmulBuilder matmul) {
  Value poly = newtonSchulzPoly(b, loc, y, coeffs, matmul).poly;
  return gramOnRows(y) ? matmul(b, loc, poly, y, false, false)
                       : matmul(b, loc, y, poly, false, false);
}

bool mstream::lowering::gramSpaceIsCheaper(Value y) {
  auto type = cast<RankedTensorType>(y.getType());
  int64_t m = type.getDimSize(1), n = type.getDimSize(2);
  return std::max(m, n) >= 2 * std::min(m, n);
}

Value mstream::lowering::gramSpaceNewtonSchulz(OpBuilder &b, Location loc,
                                               Value y, ArrayRef<double> coeffs,
                                               int64_t steps,
                                               MatmulBuilder matmul) {
  bool rows = gramOnRows(y);
  // P y on the short side: P is s x s, y is s x l (rows) or l x s.
  auto apply = [&](Value factor, Value x) {
    return rows ? matmul(b, loc, factor, x, false, false)
                : matmul(b, loc, x, factor, false, false);
  };
  Value gram, factor;
  for (int64_t k = 0; k < steps; ++k) {
    if (k % kGramSegment == 0) {
      if (factor)
        y = apply(factor, y);
      gram = shortGram(b, loc, y, matmul);
      factor = Value();
    }
    Value poly = gramPolynomial(b, loc, gram, coeffs, matmul);
    factor = factor ? apply(poly, factor) : poly;
    if (k + 1 < steps && (k + 1) % kGramSegment != 0) {
      Value square = symmetricSquare(b, loc, poly, matmul);
      gram = symmetricPart(b, loc, matmul(b, loc, square, gram, false, false));
    }
  }
  return apply(factor, y);
}

InvSqrtSetup mstream::lowering::buildInvSqrtSetup(OpBuilder &b, Location loc,
                                                  Value r, double eps) {
  InvSqrtSetup setup;
  setup.ridged = identityCombination(b, loc, eps, r, 1.0);
  setup.scale = frobeniusNorm(b, loc, setup.ridged, eps);
  setup.normalized = scaleMatrices(b, loc, setup.ridged, setup.scale, true);
  return setup;
}

SmallVector<InvSqrtStep> mstream::lowering::invSqrtSteps(OpBuilder &b,
                                                         Location loc,
                                                         Value normalized,
                                                         int64_t iterations) {
  SmallVector<InvSqrtStep> steps;
  Value x, p = normalized;
  for (int64_t k = 0; k < iterations; ++k) {
    InvSqrtStep step;
    step.factor = identityCombination(b, loc, 1.5, p, -0.5);
    step.x = x ? buildTokenMatmul(b, loc, x, step.factor, false) : step.factor;
    if (k + 1 < iterations) {
      step.square = buildTokenMatmul(b, loc, step.factor, step.factor, false);
      step.p = buildTokenMatmul(b, loc, p, step.square, false);
    }
    steps.push_back(step);
    x = step.x;
    p = step.p;
  }
  return steps;
}

Value mstream::lowering::iterate(
    OpBuilder &b, Location loc, int64_t count, Value init,
    function_ref<Value(OpBuilder &, Location, Value)> step) {
  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, count);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, one, init,
      [&](OpBuilder &nb, Location l, Value, ValueRange carried) {
        scf::YieldOp::create(nb, l, step(nb, l, carried.front()));
      });
  return loop.getResult(0);
}
