//===- LowerMatrixOps.cpp - per-token matrix iterations to linalg ---------===//
//
// Newton-Schulz and the inverse square root act on each token's own small
// matrices. They lower to contractions over `[N, m, n]` (N the flattened
// leading axes): Newton-Schulz as docs/models.md writes it (on the smaller
// Gram side) inside an scf.for over the iterations, the inverse square root
// unrolled in the coupled form that computes the same iterates with fewer
// products (invSqrtSteps).
//
//===----------------------------------------------------------------------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"
#include "mstream/Utils/MatrixBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

struct LowerNewtonSchulz : OpRewritePattern<NewtonSchulzOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NewtonSchulzOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value z = collapseLeading(rewriter, loc, op.getInput(), 2);
    ArrayRef<double> coeffs = op.getCoefficients();
    Value y0 = scaleMatrices(
        rewriter, loc, z,
        frobeniusNorm(rewriter, loc, z, op.getEps().convertToDouble()),
        /*divide=*/true);
    Value y = iterate(rewriter, loc, op.getIterations(), y0,
                      [&](OpBuilder &b, Location l, Value current) {
                        return newtonSchulzStep(b, l, current, coeffs);
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
    InvSqrtSetup setup =
        buildInvSqrtSetup(rewriter, loc, r, op.getEps().convertToDouble());
    Value x = invSqrtSteps(rewriter, loc, setup.normalized, op.getIterations())
                  .back()
                  .x;
    // X / sqrt(c).
    Value root = buildElementwise(
        rewriter, loc, setup.scale,
        [](OpBuilder &b, Location l, ValueRange args) {
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
    rewriter.replaceOp(op,
                       identityMatrices(rewriter, op.getLoc(), op.getType()));
    return success();
  }
};

} // namespace

void mstream::populateLowerMatrixOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerNewtonSchulz, LowerInvSqrt, LowerEye>(
      patterns.getContext());
}
