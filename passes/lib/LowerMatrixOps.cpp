//===- LowerMatrixOps.cpp - per-token matrix iterations to linalg ---------===//
//
// Newton-Schulz and the inverse square root act on each token's own small
// matrices. They lower to generated contractions over `[N, m, n]` (N the
// flattened leading axes) inside an scf.for over the iterations, following
// SPEC.md §1.1 operation for operation.
//
//===----------------------------------------------------------------------===//

#include "LoweringPatterns.h"
#include "MatrixBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

/// Runs `step` `count` times on `init` in an scf.for over tensors.
Value iterate(OpBuilder &b, Location loc, int64_t count, Value init,
              llvm::function_ref<Value(OpBuilder &, Location, Value)> step) {
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

struct LowerNewtonSchulz : OpRewritePattern<NewtonSchulzOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NewtonSchulzOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value z = collapseLeading(rewriter, loc, op.getInput(), 2);
    Type element = op.getType().getElementType();
    ArrayRef<double> coeffs = op.getCoefficients();
    Value a = constant(rewriter, loc, element, coeffs[0]);
    Value bCoeff = constant(rewriter, loc, element, coeffs[1]);
    Value c = constant(rewriter, loc, element, coeffs[2]);
    Value y0 = scaleMatrices(
        rewriter, loc, z,
        frobeniusNorm(rewriter, loc, z, op.getEps().convertToDouble()),
        /*divide=*/true);
    Value y = iterate(
        rewriter, loc, op.getIterations(), y0,
        [&](OpBuilder &b, Location l, Value current) {
          // A = YᵀY; P = aI + bA + cA²; Y <- Y P.
          Value gram = buildTokenMatmul(b, l, current, current, true);
          Value gram2 = buildTokenMatmul(b, l, gram, gram, false);
          Value zero = constant(b, l, element, 0.0);
          Value poly = buildElementwise(
              b, l, ValueRange{gram, gram2},
              [&](OpBuilder &nb, Location bl, ValueRange args) {
                Value diagonal = arith::SelectOp::create(
                    nb, bl, isDiagonal(nb, bl, 3), a, zero);
                Value linear = arith::MulFOp::create(nb, bl, bCoeff, args[0]);
                Value quadratic = arith::MulFOp::create(nb, bl, c, args[1]);
                Value sum = arith::AddFOp::create(nb, bl, diagonal, linear);
                return arith::AddFOp::create(nb, bl, sum, quadratic)
                    .getResult();
              });
          return buildTokenMatmul(b, l, current, poly, false);
        });
    rewriter.replaceOp(op, expandLeading(rewriter, loc, y, op.getType()));
    return success();
  }
};

struct LowerInvSqrt : OpRewritePattern<InvSqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InvSqrtOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value r = collapseLeading(rewriter, loc, op.getInput(), 2);
    auto type = cast<RankedTensorType>(r.getType());
    Type element = type.getElementType();
    double eps = op.getEps().convertToDouble();
    Value epsilon = constant(rewriter, loc, element, eps);
    Value zero = constant(rewriter, loc, element, 0.0);
    Value one = constant(rewriter, loc, element, 1.0);
    Value three = constant(rewriter, loc, element, 3.0);
    Value half = constant(rewriter, loc, element, 0.5);

    // Rr = R + eps I; c = max(||Rr||_F, eps); N = Rr / c.
    Value ridged = buildElementwise(
        rewriter, loc, r, [&](OpBuilder &b, Location l, ValueRange args) {
          Value shift =
              arith::SelectOp::create(b, l, isDiagonal(b, l, 3), epsilon, zero);
          return arith::AddFOp::create(b, l, args[0], shift).getResult();
        });
    Value scale = frobeniusNorm(rewriter, loc, ridged, eps);
    Value normalized = scaleMatrices(rewriter, loc, ridged, scale, true);
    Value identity = buildMap(rewriter, loc, type, ValueRange{}, {},
                              [&](OpBuilder &b, Location l, ValueRange) {
                                return arith::SelectOp::create(
                                           b, l, isDiagonal(b, l, 3), one, zero)
                                    .getResult();
                              });
    // X <- 0.5 X (3I - X N X), from X0 = I.
    Value x = iterate(
        rewriter, loc, op.getIterations(), identity,
        [&](OpBuilder &b, Location l, Value current) {
          Value xn = buildTokenMatmul(b, l, current, normalized, false);
          Value xnx = buildTokenMatmul(b, l, xn, current, false);
          Value inner = buildElementwise(
              b, l, xnx, [&](OpBuilder &nb, Location bl, ValueRange args) {
                Value diagonal = arith::SelectOp::create(
                    nb, bl, isDiagonal(nb, bl, 3), three, zero);
                Value difference =
                    arith::SubFOp::create(nb, bl, diagonal, args[0]);
                return arith::MulFOp::create(nb, bl, half, difference)
                    .getResult();
              });
          return buildTokenMatmul(b, l, current, inner, false);
        });
    // X / sqrt(c).
    Value root = buildElementwise(
        rewriter, loc, scale, [](OpBuilder &b, Location l, ValueRange args) {
          return math::SqrtOp::create(b, l, args[0]).getResult();
        });
    Value result = scaleMatrices(rewriter, loc, x, root, true);
    rewriter.replaceOp(op, expandLeading(rewriter, loc, result, op.getType()));
    return success();
  }
};

struct LowerEye : OpRewritePattern<EyeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EyeOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    Type element = type.getElementType();
    Location loc = op.getLoc();
    Value one = constant(rewriter, loc, element, 1.0);
    Value zero = constant(rewriter, loc, element, 0.0);
    unsigned rank = type.getRank();
    rewriter.replaceOp(op, buildMap(rewriter, loc, type, ValueRange{}, {},
                                    [&](OpBuilder &b, Location l, ValueRange) {
                                      return arith::SelectOp::create(
                                                 b, l, isDiagonal(b, l, rank),
                                                 one, zero)
                                          .getResult();
                                    }));
    return success();
  }
};

} // namespace

void mstream::populateLowerMatrixOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerNewtonSchulz, LowerInvSqrt, LowerEye>(
      patterns.getContext());
}
