//===- LowerStepOps.cpp - step ops to stream math -------------------------===//
//
// Each step op becomes its formulas (docs/models.md): elementwise stream
// updates as linalg.generic (raw scalars mapped once, as scalars), plus
// mstream.layer_norm / newton_schulz / inv_sqrt, which other patterns lower.
//
//===----------------------------------------------------------------------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"
#include "mstream/Utils/LinalgBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

Type elementOf(Value v) {
  Type type = v.getType();
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getElementType();
  return type;
}

/// `[..., d]` <-> `[..., heads, d / heads]` regrouping of the last axis.
SmallVector<ReassociationIndices> headGroups(int64_t flatRank) {
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i + 1 < flatRank; ++i)
    groups.push_back({i});
  groups.push_back({flatRank - 1, flatRank});
  return groups;
}

/// Builds one substep's math at the step op's location.
class StepBuilder {
public:
  StepBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value sig(Value raw) { return sigmoid(b, loc, extractScalar(b, loc, raw)); }
  Value soft(Value raw) { return softplus(b, loc, extractScalar(b, loc, raw)); }
  Value complement(Value coefficient) {
    return arith::SubFOp::create(b, loc, one(coefficient), coefficient);
  }

  /// alpha * p + beta * q, for scalar alpha and beta.
  Value combine(Value alpha, Value p, Value beta, Value q) {
    return buildElementwise(
        b, loc, ValueRange{p, q}, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value first = arith::MulFOp::create(nb, l, alpha, a[0]);
          Value second = arith::MulFOp::create(nb, l, beta, a[1]);
          return arith::AddFOp::create(nb, l, first, second).getResult();
        });
  }
  /// p + alpha * q.
  Value axpy(Value p, Value alpha, Value q) {
    return combine(one(alpha), p, alpha, q);
  }
  /// The EMA beta * m + (1 - beta) * g.
  Value ema(Value beta, Value m, Value g) {
    return combine(beta, m, complement(beta), g);
  }
  /// beta * s + (1 - beta) * g².
  Value secondMoment(Value beta, Value s, Value g) {
    Value rest = complement(beta);
    return buildElementwise(
        b, loc, ValueRange{s, g}, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value kept = arith::MulFOp::create(nb, l, beta, a[0]);
          Value square = arith::MulFOp::create(nb, l, a[1], a[1]);
          Value fresh = arith::MulFOp::create(nb, l, rest, square);
          return arith::AddFOp::create(nb, l, kept, fresh).getResult();
        });
  }
  /// numerator / (sqrt(s) + eps): the eps sits outside the root.
  Value adaptive(Value numerator, Value s, APFloat eps) {
    Value epsilon = constant(b, loc, elementOf(s), eps.convertToDouble());
    return buildElementwise(
        b, loc, ValueRange{numerator, s},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value root = math::SqrtOp::create(nb, l, a[1]);
          Value denominator = arith::AddFOp::create(nb, l, root, epsilon);
          return arith::DivFOp::create(nb, l, a[0], denominator).getResult();
        });
  }
  Value layerNorm(Value x, Value gain, FloatAttr eps) {
    return LayerNormOp::create(b, loc, x.getType(), x, gain, eps);
  }

  Value toHeads(Value flat, int64_t heads) {
    auto type = cast<RankedTensorType>(flat.getType());
    SmallVector<int64_t> shape(type.getShape().drop_back());
    shape.append({heads, type.getShape().back() / heads});
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), flat,
        headGroups(type.getRank()));
  }
  Value toFlat(Value matrices, Type flatType) {
    return tensor::CollapseShapeOp::create(
        b, loc, flatType, matrices,
        headGroups(cast<RankedTensorType>(flatType).getRank()));
  }
  /// Per token `NS(Reshape(flat))`, flattened back.
  Value orthogonalize(Value flat, int64_t heads, IntegerAttr iterations,
                      DenseF64ArrayAttr coefficients, FloatAttr eps) {
    Value matrices = toHeads(flat, heads);
    Value result = NewtonSchulzOp::create(b, loc, matrices.getType(), matrices,
                                          iterations, coefficients, eps);
    return toFlat(result, flat.getType());
  }
  /// Per token `GᵀG` of `g [..., H, Dh]`, shaped like the r stream.
  Value rightGram(Value g, Type rType) {
    Value matrices = collapseLeading(b, loc, g, 2);
    Value gram = buildTokenMatmul(b, loc, matrices, matrices, true);
    return expandLeading(b, loc, gram, cast<RankedTensorType>(rType));
  }
  /// Per token `lhs [H, Dh] x InvSqrt(r)`, flattened to `flatType`.
  Value precondition(Value lhs, Value r, Type flatType, IntegerAttr iterations,
                     FloatAttr eps) {
    Value root = InvSqrtOp::create(b, loc, r.getType(), r, iterations, eps);
    Value left = collapseLeading(b, loc, lhs, 2);
    Value right = collapseLeading(b, loc, root, 2);
    Value product = buildTokenMatmul(b, loc, left, right, false);
    return toFlat(
        expandLeading(b, loc, product, cast<RankedTensorType>(lhs.getType())),
        flatType);
  }

private:
  Value one(Value like) { return constant(b, loc, elementOf(like), 1.0); }

  OpBuilder &b;
  Location loc;
};

SmallVector<Value> lower(GdOp op, StepBuilder &s, OpBuilder &b) {
  Value one = constant(b, op.getLoc(), elementOf(op.getX()), 1.0);
  return {s.axpy(op.getX(), one, op.getGrad())};
}

/// hb / nesterov / tmm: v' = LN_v(beta v + gamma g), x' = x + nu v', with
/// nu = 1 when `nuRaw` is null.
template <typename OpTy>
SmallVector<Value> lowerVelocity(OpTy op, StepBuilder &s, OpBuilder &b,
                                 Value nuRaw) {
  Value beta = s.sig(op.getBeta());
  Value gamma = s.soft(op.getGamma());
  Value nu = nuRaw ? s.soft(nuRaw)
                   : constant(b, op.getLoc(), elementOf(op.getX()), 1.0);
  Value velocity = s.layerNorm(s.combine(beta, op.getV(), gamma, op.getGrad()),
                               op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), nu, velocity), velocity};
}

SmallVector<Value> lower(HeavyBallOp op, StepBuilder &s, OpBuilder &b) {
  return lowerVelocity(op, s, b, Value());
}

SmallVector<Value> lower(NesterovOp op, StepBuilder &s, OpBuilder &b) {
  return lowerVelocity(op, s, b, Value());
}

SmallVector<Value> lower(TmmOp op, StepBuilder &s, OpBuilder &b) {
  return lowerVelocity(op, s, b, op.getNu());
}

/// adam / adamw: x' = keep * x + gamma LN_u(m' / (sqrt(s') + eps)).
template <typename OpTy>
SmallVector<Value> lowerAdam(OpTy op, StepBuilder &s, Value keep) {
  Value m = s.ema(s.sig(op.getBeta1()), op.getM(), op.getGrad());
  Value v = s.secondMoment(s.sig(op.getBeta2()), op.getS(), op.getGrad());
  Value update = s.layerNorm(s.adaptive(m, v, op.getDenomEps()), op.getLnGain(),
                             op.getLnEpsAttr());
  Value gamma = s.soft(op.getGamma());
  return {s.combine(keep, op.getX(), gamma, update), m, v};
}

SmallVector<Value> lower(AdamOp op, StepBuilder &s, OpBuilder &b) {
  return lowerAdam(op, s, constant(b, op.getLoc(), elementOf(op.getX()), 1.0));
}

SmallVector<Value> lower(AdamWOp op, StepBuilder &s, OpBuilder &) {
  return lowerAdam(op, s, s.complement(s.sig(op.getLambda())));
}

SmallVector<Value> lower(RmsPropOp op, StepBuilder &s, OpBuilder &) {
  Value v = s.secondMoment(s.sig(op.getBeta2()), op.getS(), op.getGrad());
  Value update = s.layerNorm(s.adaptive(op.getGrad(), v, op.getDenomEps()),
                             op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), s.soft(op.getGamma()), update), v};
}

SmallVector<Value> lower(MuonOp op, StepBuilder &s, OpBuilder &) {
  Value m = s.ema(s.sig(op.getBeta()), op.getM(), op.getGrad());
  Value u = s.orthogonalize(m, op.getHeads(), op.getNsIterationsAttr(),
                            op.getNsCoefficientsAttr(), op.getNsEpsAttr());
  Value update = s.layerNorm(u, op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), s.soft(op.getGamma()), update), m};
}

SmallVector<Value> lower(OrthoOp op, StepBuilder &s, OpBuilder &) {
  Value u =
      s.orthogonalize(op.getGrad(), op.getHeads(), op.getNsIterationsAttr(),
                      op.getNsCoefficientsAttr(), op.getNsEpsAttr());
  Value update = s.layerNorm(u, op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), s.soft(op.getGamma()), update)};
}

SmallVector<Value> lower(ShampooOp op, StepBuilder &s, OpBuilder &) {
  Value g = s.toHeads(op.getGrad(), op.getHeads());
  Value betaR = s.sig(op.getBetaR());
  Value r = s.ema(betaR, op.getR(), s.rightGram(g, op.getR().getType()));
  Value u =
      s.precondition(g, r, op.getX().getType(), op.getInvSqrtIterationsAttr(),
                     op.getInvSqrtEpsAttr());
  Value update = s.layerNorm(u, op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), s.soft(op.getGamma()), update), r};
}

SmallVector<Value> lower(SoapOp op, StepBuilder &s, OpBuilder &) {
  Value g = s.toHeads(op.getGrad(), op.getHeads());
  Value m = s.ema(s.sig(op.getBeta1()), op.getM(), op.getGrad());
  Value betaR = s.sig(op.getBetaR());
  Value r = s.ema(betaR, op.getR(), s.rightGram(g, op.getR().getType()));
  Value u =
      s.precondition(s.toHeads(m, op.getHeads()), r, op.getX().getType(),
                     op.getInvSqrtIterationsAttr(), op.getInvSqrtEpsAttr());
  Value update = s.layerNorm(u, op.getLnGain(), op.getLnEpsAttr());
  return {s.axpy(op.getX(), s.soft(op.getGamma()), update), m, r};
}

SmallVector<Value> lower(LookaheadOp op, StepBuilder &s, OpBuilder &) {
  return {s.axpy(op.getX(), s.sig(op.getMu()), op.getV())};
}

template <typename OpTy> struct LowerStep : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    StepBuilder builder(rewriter, op.getLoc());
    rewriter.replaceOp(op, lower(op, builder, rewriter));
    return success();
  }
};

} // namespace

void mstream::populateLowerStepOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerStep<GdOp>, LowerStep<HeavyBallOp>, LowerStep<NesterovOp>,
               LowerStep<TmmOp>, LowerStep<AdamOp>, LowerStep<AdamWOp>,
               LowerStep<RmsPropOp>, LowerStep<MuonOp>, LowerStep<OrthoOp>,
               LowerStep<ShampooOp>, LowerStep<SoapOp>, LowerStep<LookaheadOp>>(
      patterns.getContext());
}
