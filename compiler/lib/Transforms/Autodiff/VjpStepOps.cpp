//===- VjpStepOps.cpp - vector-Jacobian products of the step ops ----------===//
//
// The velocity family (lookahead, heavy_ball, nesterov, tmm) and the
// adaptive family (adam, adamw, rmsprop). Each VJP
// rematerialises its substep's forward values, then returns the cotangents
// of the streams, the oracle output, the raw scalars (through their sigmoid
// or softplus) and the LayerNorm gain.
//
//===----------------------------------------------------------------------===//

#include "VjpBuilders.h"

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

/// v' = LN_v(beta v + gamma g), x' = x + nu v' (nu = 1 without `nuRaw`).
/// Operand cotangents in the op's order: x, v, g, beta, gamma, [nu], gain.
void velocityVjp(OpBuilder &b, Location loc, Value x, Value v, Value g,
                 Value betaRaw, Value gammaRaw, Value nuRaw, Value gain,
                 double eps, ValueRange cotangents,
                 SmallVectorImpl<Value> &out) {
  Value dxNew = cotangents[0], dvNew = cotangents[1];
  Value beta = sigmoid(b, loc, extractScalar(b, loc, betaRaw));
  Value gammaArg = extractScalar(b, loc, gammaRaw);
  Value gamma = softplus(b, loc, gammaArg);
  Value nuArg = nuRaw ? extractScalar(b, loc, nuRaw) : Value();
  Value nu =
      nuRaw ? softplus(b, loc, nuArg) : constant(b, loc, beta.getType(), 1.0);
  Value pre = buildElementwise(
      b, loc, ValueRange{v, g}, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value kept = arith::MulFOp::create(nb, l, beta, a[0]);
        Value fresh = arith::MulFOp::create(nb, l, gamma, a[1]);
        return arith::AddFOp::create(nb, l, kept, fresh).getResult();
      });

  // The new velocity feeds both results: dv' + nu dx'.
  Value dVelocity = dvNew;
  if (dxNew)
    dVelocity = dVelocity ? addScaled(b, loc, dVelocity, nu, dxNew)
                          : scale(b, loc, nu, dxNew);
  LayerNormGrads ln = buildLayerNormVjp(b, loc, pre, gain, eps, dVelocity);
  Value dPre = ln.dx;
  Value dv = scale(b, loc, beta, dPre);
  Value dg = scale(b, loc, gamma, dPre);
  Value dBeta = rawScalarCotangent(b, loc, betaRaw, dPre, v,
                                   sigmoidDerivative(b, loc, beta));
  Value dGamma =
      rawScalarCotangent(b, loc, gammaRaw, dPre, g, sigmoid(b, loc, gammaArg));
  out.append({dxNew, dv, dg, dBeta, dGamma});
  if (nuRaw) {
    Value dNu;
    if (dxNew) {
      Value velocity = buildLayerNorm(b, loc, pre, gain, eps);
      dNu = rawScalarCotangent(b, loc, nuRaw, dxNew, velocity,
                               sigmoid(b, loc, nuArg));
    }
    out.push_back(dNu);
  }
  out.push_back(ln.dGain);
}

template <typename OpTy>
struct VelocityVjp : VjpOpInterface::ExternalModel<VelocityVjp<OpTy>, OpTy> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<OpTy>(raw);
    Value nuRaw;
    if constexpr (std::is_same_v<OpTy, TmmOp>)
      nuRaw = op.getNu();
    velocityVjp(b, op.getLoc(), op.getX(), op.getV(), op.getGrad(),
                op.getBeta(), op.getGamma(), nuRaw, op.getLnGain(),
                op.getLnEps().convertToDouble(), cotangents, out);
    return success();
  }
};

/// x~ = x + sigmoid(mu) v.
struct LookaheadVjp : VjpOpInterface::ExternalModel<LookaheadVjp, LookaheadOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<LookaheadOp>(raw);
    Location loc = op.getLoc();
    Value dy = cotangents[0];
    Value mu = sigmoid(b, loc, extractScalar(b, loc, op.getMu()));
    Value dv = scale(b, loc, mu, dy);
    Value dMu = rawScalarCotangent(b, loc, op.getMu(), dy, op.getV(),
                                   sigmoidDerivative(b, loc, mu));
    out.append({dy, dv, dMu});
    return success();
  }
};

/// The adaptive family. With m' = b1 m + (1 - b1) g (or m' = g without
/// momentum: rmsprop), s' = b2 s + (1 - b2) g², u = m' / (sqrt(s') + eps),
/// x' = keep x + gamma LN_u(u), keep = 1 - lambda (adamw) or 1.
struct AdaptiveParts {
  Value x, m, s, g, beta1Raw, beta2Raw, gammaRaw, lambdaRaw, gain;
  double lnEps, denomEps;
  /// Cotangents of x', m' (null for rmsprop) and s'.
  Value dxNew, dmNew, dsNew;
};

/// adaptiveVjp's steps, from x' back to the operands; each step reads
/// the values the earlier ones set.
class AdaptiveVjpBuilder {
public:
  AdaptiveVjpBuilder(OpBuilder &b, Location loc, const AdaptiveParts &p)
      : b(b), loc(loc), p(p) {}

  /// Operand cotangents in the op's order.
  SmallVector<Value> build() {
    rematerialise();
    throughResidual();
    throughQuotient();
    throughMoments();
    SmallVector<Value> out = {dx};
    if (beta1)
      out.push_back(dM);
    out.append({dS, dg});
    if (beta1)
      out.push_back(dBeta1);
    out.append({dBeta2, dGamma});
    if (lambda)
      out.push_back(dLambda);
    out.push_back(dGain);
    return out;
  }

private:
  /// The mapped scalars, and m', s', sqrt(s') + eps and u recomputed.
  void rematerialise() {
    Type element = cast<RankedTensorType>(p.x.getType()).getElementType();
    one = constant(b, loc, element, 1.0);
    two = constant(b, loc, element, 2.0);
    Value epsilon = constant(b, loc, element, p.denomEps);
    if (p.beta1Raw)
      beta1 = sigmoid(b, loc, extractScalar(b, loc, p.beta1Raw));
    beta2 = sigmoid(b, loc, extractScalar(b, loc, p.beta2Raw));
    gammaArg = extractScalar(b, loc, p.gammaRaw);
    gamma = softplus(b, loc, gammaArg);
    if (p.lambdaRaw)
      lambda = sigmoid(b, loc, extractScalar(b, loc, p.lambdaRaw));

    mNew = beta1 ? blend(b, loc, beta1, p.m, p.g) : p.g;
    sNew = buildElementwise(
        b, loc, ValueRange{p.s, p.g},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value rest = arith::SubFOp::create(nb, l, one, beta2);
          Value kept = arith::MulFOp::create(nb, l, beta2, a[0]);
          Value square = arith::MulFOp::create(nb, l, a[1], a[1]);
          Value fresh = arith::MulFOp::create(nb, l, rest, square);
          return arith::AddFOp::create(nb, l, kept, fresh).getResult();
        });
    denominator = buildElementwise(
        b, loc, sNew, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value root = math::SqrtOp::create(nb, l, a[0]);
          return arith::AddFOp::create(nb, l, root, epsilon).getResult();
        });
    u = buildElementwise(
        b, loc, ValueRange{mNew, denominator},
        [](OpBuilder &nb, Location l, ValueRange a) {
          return arith::DivFOp::create(nb, l, a[0], a[1]).getResult();
        });
  }

  /// Through x' = keep x + gamma LN(u), keep = 1 - lambda or 1.
  void throughResidual() {
    if (!p.dxNew)
      return;
    Value keep =
        lambda ? arith::SubFOp::create(b, loc, one, lambda).getResult() : one;
    dx = scale(b, loc, keep, p.dxNew);
    Value update = buildLayerNorm(b, loc, u, p.gain, p.lnEps);
    dGamma = rawScalarCotangent(b, loc, p.gammaRaw, p.dxNew, update,
                                sigmoid(b, loc, gammaArg));
    if (lambda) {
      // d/d lambda of (1 - lambda) x is -x.
      Value negated =
          arith::NegFOp::create(b, loc, sigmoidDerivative(b, loc, lambda));
      dLambda = rawScalarCotangent(b, loc, p.lambdaRaw, p.dxNew, p.x, negated);
    }
    LayerNormGrads ln = buildLayerNormVjp(b, loc, u, p.gain, p.lnEps,
                                          scale(b, loc, gamma, p.dxNew));
    du = ln.dx;
    dGain = ln.dGain;
  }

  /// Through u = m' / (sqrt(s') + eps): d m' += du / den and
  /// d s' += -du m' / den² / (2 sqrt(s')).
  void throughQuotient() {
    dm = p.dmNew;
    ds = p.dsNew;
    if (!du)
      return;
    Value viaM = buildElementwise(
        b, loc, ValueRange{du, denominator},
        [](OpBuilder &nb, Location l, ValueRange a) {
          return arith::DivFOp::create(nb, l, a[0], a[1]).getResult();
        });
    Value viaS = buildElementwise(
        b, loc, ValueRange{du, mNew, denominator, sNew},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value square = arith::MulFOp::create(nb, l, a[2], a[2]);
          Value root = math::SqrtOp::create(nb, l, a[3]);
          Value twice = arith::MulFOp::create(nb, l, two, root);
          Value scaleBy = arith::MulFOp::create(nb, l, square, twice);
          Value product = arith::MulFOp::create(nb, l, a[0], a[1]);
          Value ratio = arith::DivFOp::create(nb, l, product, scaleBy);
          return arith::NegFOp::create(nb, l, ratio).getResult();
        });
    dm = dm ? addScaled(b, loc, dm, one, viaM) : viaM;
    ds = ds ? addScaled(b, loc, ds, one, viaS) : viaS;
  }

  /// Through s' = b2 s + (1 - b2) g² and m' = b1 m + (1 - b1) g.
  void throughMoments() {
    Value dgFromS;
    if (ds) {
      dS = scale(b, loc, beta2, ds);
      Value gSquared = multiply(b, loc, p.g, p.g);
      Value sMinusG2 = buildElementwise(
          b, loc, ValueRange{p.s, gSquared},
          [](OpBuilder &nb, Location l, ValueRange a) {
            return arith::SubFOp::create(nb, l, a[0], a[1]).getResult();
          });
      dBeta2 = rawScalarCotangent(b, loc, p.beta2Raw, ds, sMinusG2,
                                  sigmoidDerivative(b, loc, beta2));
      Value factor = arith::MulFOp::create(
          b, loc, two, arith::SubFOp::create(b, loc, one, beta2));
      dgFromS = scale(b, loc, factor, multiply(b, loc, ds, p.g));
    }
    Value dgFromM = dm;
    if (beta1 && dm) {
      dM = scale(b, loc, beta1, dm);
      Value mMinusG = buildElementwise(
          b, loc, ValueRange{p.m, p.g},
          [](OpBuilder &nb, Location l, ValueRange a) {
            return arith::SubFOp::create(nb, l, a[0], a[1]).getResult();
          });
      dBeta1 = rawScalarCotangent(b, loc, p.beta1Raw, dm, mMinusG,
                                  sigmoidDerivative(b, loc, beta1));
      dgFromM = scale(b, loc, arith::SubFOp::create(b, loc, one, beta1), dm);
    }
    dg = dgFromM;
    if (dgFromS)
      dg = dg ? addScaled(b, loc, dg, one, dgFromS) : dgFromS;
  }

  OpBuilder &b;
  Location loc;
  const AdaptiveParts &p;
  // Forward values.
  Value one, two, beta1, beta2, gammaArg, gamma, lambda;
  Value mNew, sNew, denominator, u;
  // Cotangents.
  Value dx, dGamma, dLambda, du, dGain, dm, ds, dS, dBeta2, dM, dBeta1, dg;
};

SmallVector<Value> adaptiveVjp(OpBuilder &b, Location loc,
                               const AdaptiveParts &p) {
  return AdaptiveVjpBuilder(b, loc, p).build();
}

template <typename OpTy>
struct AdamVjp : VjpOpInterface::ExternalModel<AdamVjp<OpTy>, OpTy> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<OpTy>(raw);
    AdaptiveParts parts{op.getX(),
                        op.getM(),
                        op.getS(),
                        op.getGrad(),
                        op.getBeta1(),
                        op.getBeta2(),
                        op.getGamma(),
                        Value(),
                        op.getLnGain(),
                        op.getLnEps().convertToDouble(),
                        op.getDenomEps().convertToDouble(),
                        cotangents[0],
                        cotangents[1],
                        cotangents[2]};
    if constexpr (std::is_same_v<OpTy, AdamWOp>)
      parts.lambdaRaw = op.getLambda();
    out.append(adaptiveVjp(b, op.getLoc(), parts));
    return success();
  }
};

struct RmsPropVjp : VjpOpInterface::ExternalModel<RmsPropVjp, RmsPropOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<RmsPropOp>(raw);
    AdaptiveParts parts{op.getX(),
                        Value(),
                        op.getS(),
                        op.getGrad(),
                        Value(),
                        op.getBeta2(),
                        op.getGamma(),
                        Value(),
                        op.getLnGain(),
                        op.getLnEps().convertToDouble(),
                        op.getDenomEps().convertToDouble(),
                        cotangents[0],
                        Value(),
                        cotangents[1]};
    out.append(adaptiveVjp(b, op.getLoc(), parts));
    return success();
  }
};

} // namespace

void mstream::registerStepVjpInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    LookaheadOp::attachInterface<LookaheadVjp>(*ctx);
    HeavyBallOp::attachInterface<VelocityVjp<HeavyBallOp>>(*ctx);
    NesterovOp::attachInterface<VelocityVjp<NesterovOp>>(*ctx);
    TmmOp::attachInterface<VelocityVjp<TmmOp>>(*ctx);
    AdamOp::attachInterface<AdamVjp<AdamOp>>(*ctx);
    AdamWOp::attachInterface<AdamVjp<AdamWOp>>(*ctx);
    RmsPropOp::attachInterface<RmsPropVjp>(*ctx);
  });
}
