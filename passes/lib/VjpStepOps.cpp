//===- VjpStepOps.cpp - vector-Jacobian products of the step ops ----------===//
//
// The velocity family: lookahead, heavy_ball, nesterov and tmm. Each VJP
// rematerialises its substep's forward values, then returns the cotangents
// of the streams, the oracle output, the raw scalars (through their sigmoid
// or softplus) and the LayerNorm gain.
//
//===----------------------------------------------------------------------===//

#include "VjpBuilders.h"

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

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

} // namespace

void mstream::registerStepVjpInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    LookaheadOp::attachInterface<LookaheadVjp>(*ctx);
    HeavyBallOp::attachInterface<VelocityVjp<HeavyBallOp>>(*ctx);
    NesterovOp::attachInterface<VelocityVjp<NesterovOp>>(*ctx);
    TmmOp::attachInterface<VelocityVjp<TmmOp>>(*ctx);
  });
}
