//===- VjpMatrixOps.cpp - VJPs through the per-token matrix iterations ----===//
//
// Newton-Schulz and the inverse square root, and the step ops built on them
// (muon, ortho, shampoo, soap). The backward replays the iterations
// unrolled, keeping every iterate, then walks them in reverse (Newton-Schulz)
// or forward (the inverse square root, backInvSqrt). All matrices are per
// token, `[N, m, n]`.
//
//===----------------------------------------------------------------------===//

#include "VjpBuilders.h"
#include "mstream/Utils/MatrixBuilders.h"

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

Value plus(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return addScaled(
      b, loc, lhs,
      constant(b, loc, cast<RankedTensorType>(lhs.getType()).getElementType(),
               1.0),
      rhs);
}

/// Per matrix, x + xᵀ.
Value plusTranspose(OpBuilder &b, Location loc, Value x) {
  return plus(b, loc, x, transposeMatrices(b, loc, x));
}

/// Per matrix: the gradient through `y = z / norm(z)` with the norm clamped
/// at `clamp` (no norm gradient where the clamp holds).
Value backNormalize(OpBuilder &b, Location loc, Value z, Value norm, Value dy,
                    double clamp) {
  Value dot = matrixDot(b, loc, dy, z);
  Type element = cast<RankedTensorType>(z.getType()).getElementType();
  Value floor = constant(b, loc, element, clamp);
  Value zero = constant(b, loc, element, 0.0);
  AffineMap identity = b.getMultiDimIdentityMap(3);
  AffineMap first = AffineMap::get(3, 0, b.getAffineDimExpr(0));
  return buildMap(
      b, loc, cast<RankedTensorType>(z.getType()), ValueRange{dy, z, norm, dot},
      {identity, identity, first, first},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value direct = arith::DivFOp::create(nb, l, a[0], a[2]);
        Value cube = arith::MulFOp::create(
            nb, l, a[2], arith::MulFOp::create(nb, l, a[2], a[2]));
        Value radial = arith::DivFOp::create(
            nb, l, arith::MulFOp::create(nb, l, a[1], a[3]), cube);
        Value active = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                             a[2], floor);
        Value correction = arith::SelectOp::create(nb, l, active, radial, zero);
        return arith::SubFOp::create(nb, l, direct, correction).getResult();
      });
}

/// NS forward, unrolled: iterates[0] = Z / norm, iterates[k+1] = Y_k P(A_k).
struct NsTrace {
  Value norm;
  SmallVector<Value> iterates;
};

NsTrace traceNewtonSchulz(OpBuilder &b, Location loc, Value z,
                          int64_t iterations, ArrayRef<double> c, double eps) {
  NsTrace trace;
  trace.norm = frobeniusNorm(b, loc, z, eps);
  trace.iterates.push_back(scaleMatrices(b, loc, z, trace.norm, true));
  for (int64_t k = 0; k < iterations; ++k)
    trace.iterates.push_back(
        newtonSchulzStep(b, loc, trace.iterates.back(), c));
  return trace;
}

/// dZ from dY_K: per iteration, with G = dY' and P symmetric: for
/// Y' = Y P(A), A = YᵀY: dP = Yᵀ G, dY = G P + Y (dA + dAᵀ); for the
/// small-Gram form Y' = P(A) Y, A = YYᵀ: dP = G Yᵀ, dY = P G + (dA + dAᵀ) Y;
/// both with dA = b dP + c (dP A + A dP).
Value backNewtonSchulz(OpBuilder &b, Location loc, Value z,
                       const NsTrace &trace, Value dOut, ArrayRef<double> c,
                       double eps) {
  Value grad = dOut;
  for (int64_t k = int64_t(trace.iterates.size()) - 2; k >= 0; --k) {
    Value y = trace.iterates[k];
    bool rows = gramOnRows(y);
    auto [gram, poly] = newtonSchulzPoly(b, loc, y, c);
    Value dPoly = rows ? buildTokenMatmul(b, loc, grad, y, false, true)
                       : buildTokenMatmul(b, loc, y, grad, true);
    Value left = buildTokenMatmul(b, loc, dPoly, gram, false);
    Value right = buildTokenMatmul(b, loc, gram, dPoly, false);
    Value dGram = identityCombination(b, loc, 0.0, dPoly, c[1],
                                      plus(b, loc, left, right), c[2]);
    Value symmetric = plusTranspose(b, loc, dGram);
    Value throughPoly = rows ? buildTokenMatmul(b, loc, poly, grad, false)
                             : buildTokenMatmul(b, loc, grad, poly, false);
    Value throughGram = rows ? buildTokenMatmul(b, loc, symmetric, y, false)
                             : buildTokenMatmul(b, loc, y, symmetric, false);
    grad = plus(b, loc, throughPoly, throughGram);
  }
  return backNormalize(b, loc, z, trace.norm, grad, eps);
}

/// InvSqrt forward, unrolled: Rr = R + eps I, c = max(||Rr||, eps),
/// Nm = Rr / c, the coupled Newton iteration (invSqrtSteps) from X_0 = I and
/// P_0 = Nm; out = X_K / sqrt(c).
struct InvSqrtTrace {
  Value ridged, scale, normalized, root, output;
  SmallVector<InvSqrtStep> steps;
};

InvSqrtTrace traceInvSqrt(OpBuilder &b, Location loc, Value r,
                          int64_t iterations, double eps) {
  InvSqrtTrace t;
  InvSqrtSetup setup = buildInvSqrtSetup(b, loc, r, eps);
  t.ridged = setup.ridged;
  t.scale = setup.scale;
  t.normalized = setup.normalized;
  t.steps = invSqrtSteps(b, loc, t.normalized, iterations);
  t.root = buildElementwise(
      b, loc, t.scale, [](OpBuilder &nb, Location l, ValueRange a) {
        return math::SqrtOp::create(nb, l, a[0]).getResult();
      });
  t.output = scaleMatrices(b, loc, t.steps.back().x, t.root, true);
  return t;
}

/// dR from d out. The iteration computes a polynomial f(Nm), and for a
/// symmetric Nm the adjoint of its derivative is the derivative itself:
/// <G, Df(Nm)[E]> = <Df(Nmᵀ)[G], E>. So dNm is the iteration's
/// forward-mode derivative in the direction G = dX_K, carried along the
/// trace from Ẋ_0 = 0, Ṗ_0 = G: Ṫ_k = -0.5 Ṗ_k, Ẋ_{k+1} = Ẋ_k T_k +
/// X_k Ṫ_k, Ṗ_{k+1} = Ṗ_k T_k² + P_k (Ṫ_k T_k + T_k Ṫ_k): six products a
/// step, as many as a reverse sweep. With `symmetric`, the caller needs
/// only dR's symmetric part (R is symmetric by construction and every use
/// of its cotangent sees only that part): the tangent starts from G's
/// symmetric part and stays symmetric, so T_k Ṫ_k = (Ṫ_k T_k)ᵀ, five
/// products a step.
Value backInvSqrt(OpBuilder &b, Location loc, const InvSqrtTrace &t, Value dOut,
                  double eps, bool symmetric) {
  Type element = cast<RankedTensorType>(dOut.getType()).getElementType();
  // out = X_K / root: dX_K = dOut / root, d root = -sum(dOut X_K) / root².
  Value dRootSum = matrixDot(b, loc, dOut, t.steps.back().x);
  if (symmetric)
    dOut = symmetricPart(b, loc, dOut);
  Value dp = scaleMatrices(b, loc, dOut, t.root, true);
  Value minusHalf = constant(b, loc, element, -0.5);
  Value dx, x, p = t.normalized;
  for (const InvSqrtStep &step : t.steps) {
    Value dFactor = scale(b, loc, minusHalf, dp);
    Value viaFactor = x ? buildTokenMatmul(b, loc, x, dFactor, false) : dFactor;
    dx = dx ? plus(b, loc, buildTokenMatmul(b, loc, dx, step.factor, false),
                   viaFactor)
            : viaFactor;
    if (!step.p)
      break;
    // Ṫ T + T Ṫ.
    Value left = buildTokenMatmul(b, loc, dFactor, step.factor, false);
    Value dSquare =
        symmetric ? plusTranspose(b, loc, left)
                  : plus(b, loc, left,
                         buildTokenMatmul(b, loc, step.factor, dFactor, false));
    dp = plus(b, loc, buildTokenMatmul(b, loc, dp, step.square, false),
              buildTokenMatmul(b, loc, p, dSquare, false));
    x = step.x;
    p = step.p;
  }
  Value dNormalized = dx;
  // root = sqrt(c): dc = d root / (2 root); Nm = Rr / c: dRr = dNm / c,
  // dc -= sum(dNm Rr) / c²; c = max(||Rr||, eps): dRr += dc Rr / c.
  Value dNormSum = matrixDot(b, loc, dNormalized, t.ridged);
  Value floor = constant(b, loc, element, eps);
  Value zero = constant(b, loc, element, 0.0);
  Value two = constant(b, loc, element, 2.0);
  Value dScale = buildElementwise(
      b, loc, ValueRange{dRootSum, t.root, dNormSum, t.scale},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value rootSquared = arith::MulFOp::create(nb, l, a[1], a[1]);
        Value dRoot = arith::NegFOp::create(
            nb, l, arith::DivFOp::create(nb, l, a[0], rootSquared));
        Value viaRoot = arith::DivFOp::create(
            nb, l, dRoot, arith::MulFOp::create(nb, l, two, a[1]));
        Value scaleSquared = arith::MulFOp::create(nb, l, a[3], a[3]);
        Value viaNormalized = arith::DivFOp::create(nb, l, a[2], scaleSquared);
        Value total = arith::SubFOp::create(nb, l, viaRoot, viaNormalized);
        Value active = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                             a[3], floor);
        return arith::SelectOp::create(nb, l, active, total, zero).getResult();
      });
  Value direct = scaleMatrices(b, loc, dNormalized, t.scale, true);
  Value radial = scaleMatrices(
      b, loc, t.ridged,
      buildElementwise(
          b, loc, ValueRange{dScale, t.scale},
          [](OpBuilder &nb, Location l, ValueRange a) {
            return arith::DivFOp::create(nb, l, a[0], a[1]).getResult();
          }),
      false);
  return plus(b, loc, direct, radial);
}

/// Token streams `[..., d]` as per-token matrices `[N, heads, d / heads]`.
Value tokenMatrices(OpBuilder &b, Location loc, Value flat, int64_t heads) {
  auto type = cast<RankedTensorType>(flat.getType());
  int64_t width = type.getShape().back();
  Value two = collapseLeading(b, loc, flat, 1);
  int64_t rows = cast<RankedTensorType>(two.getType()).getDimSize(0);
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({rows, heads, width / heads},
                            type.getElementType()),
      two, {{0}, {1, 2}});
}

Value flatTokens(OpBuilder &b, Location loc, Value matrices, Type flatType) {
  Value two = tensor::CollapseShapeOp::create(b, loc, matrices, {{0}, {1, 2}});
  return expandLeading(b, loc, two, cast<RankedTensorType>(flatType));
}

struct NewtonSchulzVjp
    : VjpOpInterface::ExternalModel<NewtonSchulzVjp, NewtonSchulzOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<NewtonSchulzOp>(raw);
    Location loc = op.getLoc();
    double eps = op.getEps().convertToDouble();
    Value z = collapseLeading(b, loc, op.getInput(), 2);
    NsTrace trace = traceNewtonSchulz(b, loc, z, op.getIterations(),
                                      op.getCoefficients(), eps);
    Value dz = backNewtonSchulz(b, loc, z, trace,
                                collapseLeading(b, loc, cotangents[0], 2),
                                op.getCoefficients(), eps);
    out.push_back(expandLeading(b, loc, dz, op.getType()));
    return success();
  }
};

struct InvSqrtVjp : VjpOpInterface::ExternalModel<InvSqrtVjp, InvSqrtOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<InvSqrtOp>(raw);
    Location loc = op.getLoc();
    double eps = op.getEps().convertToDouble();
    InvSqrtTrace trace =
        traceInvSqrt(b, loc, collapseLeading(b, loc, op.getInput(), 2),
                     op.getIterations(), eps);
    Value dr =
        backInvSqrt(b, loc, trace, collapseLeading(b, loc, cotangents[0], 2),
                    eps, /*symmetric=*/false);
    out.push_back(expandLeading(b, loc, dr, op.getType()));
    return success();
  }
};

/// The shared tail x' = x + gamma LN_u(u): returns du (null if x' is
/// unused) and appends nothing; fills dx, dGamma and dGain.
struct UpdateGrads {
  Value dx, du, dGamma, dGain;
};

UpdateGrads backUpdate(OpBuilder &b, Location loc, Value u, Value gammaRaw,
                       Value gain, double lnEps, Value dxNew) {
  UpdateGrads g;
  if (!dxNew)
    return g;
  Value gammaArg = extractScalar(b, loc, gammaRaw);
  Value gamma = softplus(b, loc, gammaArg);
  Value update = buildLayerNorm(b, loc, u, gain, lnEps);
  g.dx = dxNew;
  g.dGamma = rawScalarCotangent(b, loc, gammaRaw, dxNew, update,
                                sigmoid(b, loc, gammaArg));
  LayerNormGrads ln =
      buildLayerNormVjp(b, loc, u, gain, lnEps, scale(b, loc, gamma, dxNew));
  g.du = ln.dx;
  g.dGain = ln.dGain;
  return g;
}

/// EMA m' = beta m + (1 - beta) g given dm': (dm, dg, dBeta).
std::tuple<Value, Value, Value> backEma(OpBuilder &b, Location loc,
                                        Value betaRaw, Value m, Value g,
                                        Value dmNew) {
  Value beta = sigmoid(b, loc, extractScalar(b, loc, betaRaw));
  Value one = constant(b, loc, beta.getType(), 1.0);
  Value rest = arith::SubFOp::create(b, loc, one, beta);
  Value difference =
      addScaled(b, loc, m, constant(b, loc, beta.getType(), -1.0), g);
  return {scale(b, loc, beta, dmNew), scale(b, loc, rest, dmNew),
          rawScalarCotangent(b, loc, betaRaw, dmNew, difference,
                             sigmoidDerivative(b, loc, beta))};
}

/// muon (with momentum) and ortho (without): u = NS(heads(m' or g)).
template <typename OpTy>
struct OrthogonalVjp
    : VjpOpInterface::ExternalModel<OrthogonalVjp<OpTy>, OpTy> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<OpTy>(raw);
    Location loc = op.getLoc();
    constexpr bool hasMomentum = std::is_same_v<OpTy, MuonOp>;
    Value source = op.getGrad();
    if constexpr (hasMomentum)
      source =
          blend(b, loc, sigmoid(b, loc, extractScalar(b, loc, op.getBeta())),
                op.getM(), op.getGrad());
    double nsEps = op.getNsEps().convertToDouble();
    ArrayRef<double> coeffs = op.getNsCoefficients();
    Value z = tokenMatrices(b, loc, source, op.getHeads());
    NsTrace trace =
        traceNewtonSchulz(b, loc, z, op.getNsIterations(), coeffs, nsEps);
    Value u = flatTokens(b, loc, trace.iterates.back(), op.getX().getType());
    UpdateGrads tail =
        backUpdate(b, loc, u, op.getGamma(), op.getLnGain(),
                   op.getLnEps().convertToDouble(), cotangents[0]);
    Value dSource;
    if (tail.du)
      dSource = flatTokens(
          b, loc,
          backNewtonSchulz(b, loc, z, trace,
                           tokenMatrices(b, loc, tail.du, op.getHeads()),
                           coeffs, nsEps),
          op.getX().getType());
    if constexpr (hasMomentum) {
      Value dmNew = cotangents[1];
      if (dSource)
        dmNew = dmNew ? plus(b, loc, dmNew, dSource) : dSource;
      Value dm, dg, dBeta;
      if (dmNew)
        std::tie(dm, dg, dBeta) =
            backEma(b, loc, op.getBeta(), op.getM(), op.getGrad(), dmNew);
      out.append({tail.dx, dm, dg, dBeta, tail.dGamma, tail.dGain});
    } else {
      out.append({tail.dx, dSource, tail.dGamma, tail.dGain});
    }
    return success();
  }
};

/// shampoo (G preconditioned) and soap (the EMA M' preconditioned):
/// R' = bR R + (1 - bR) GᵀG, u = lhs InvSqrt(R').
template <typename OpTy>
struct PreconditionedVjp
    : VjpOpInterface::ExternalModel<PreconditionedVjp<OpTy>, OpTy> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<OpTy>(raw);
    Location loc = op.getLoc();
    constexpr bool hasMomentum = std::is_same_v<OpTy, SoapOp>;
    int64_t heads = op.getHeads();
    Type flatType = op.getX().getType();
    Value g = tokenMatrices(b, loc, op.getGrad(), heads);
    Value r = collapseLeading(b, loc, op.getR(), 2);
    Value betaR = sigmoid(b, loc, extractScalar(b, loc, op.getBetaR()));
    Value one = constant(b, loc, betaR.getType(), 1.0);
    Value restR = arith::SubFOp::create(b, loc, one, betaR);
    Value gram = buildTokenMatmul(b, loc, g, g, true);
    Value rNew = blend(b, loc, betaR, r, gram);
    Value mNewFlat = op.getGrad();
    if constexpr (hasMomentum)
      mNewFlat =
          blend(b, loc, sigmoid(b, loc, extractScalar(b, loc, op.getBeta1())),
                op.getM(), op.getGrad());
    Value lhs = tokenMatrices(b, loc, mNewFlat, heads);
    InvSqrtTrace trace = traceInvSqrt(b, loc, rNew, op.getInvSqrtIterations(),
                                      op.getInvSqrtEps().convertToDouble());
    Value u = flatTokens(
        b, loc, buildTokenMatmul(b, loc, lhs, trace.output, false), flatType);
    UpdateGrads tail =
        backUpdate(b, loc, u, op.getGamma(), op.getLnGain(),
                   op.getLnEps().convertToDouble(), cotangents[0]);
    Value dLhs, dRNew = cotangents.back();
    if (tail.du) {
      Value du = tokenMatrices(b, loc, tail.du, heads);
      // Both InvSqrt(R') and its input are symmetric.
      dLhs = buildTokenMatmul(b, loc, du, trace.output, false);
      Value dRoot = buildTokenMatmul(b, loc, lhs, du, true);
      // R' and the stream R are sums of Grams, and the derivatives below
      // (the Gram's, the EMA's) read only dRNew's symmetric part.
      Value viaRoot = backInvSqrt(b, loc, trace, dRoot,
                                  op.getInvSqrtEpsAttr().getValueAsDouble(),
                                  /*symmetric=*/true);
      Value collapsedIncoming =
          dRNew ? collapseLeading(b, loc, dRNew, 2) : Value();
      dRNew = collapsedIncoming ? plus(b, loc, collapsedIncoming, viaRoot)
                                : viaRoot;
    } else if (dRNew) {
      dRNew = collapseLeading(b, loc, dRNew, 2);
    }
    // Through R' = bR R + (1 - bR) GᵀG.
    Value dr, dBetaR, dgFromGram;
    if (dRNew) {
      dr = expandLeading(b, loc, scale(b, loc, betaR, dRNew),
                         cast<RankedTensorType>(op.getR().getType()));
      Value difference =
          addScaled(b, loc, r, constant(b, loc, betaR.getType(), -1.0), gram);
      dBetaR = rawScalarCotangent(b, loc, op.getBetaR(), dRNew, difference,
                                  sigmoidDerivative(b, loc, betaR));
      Value dGram = scale(b, loc, restR, dRNew);
      Value symmetric = plusTranspose(b, loc, dGram);
      dgFromGram = buildTokenMatmul(b, loc, g, symmetric, false);
    }
    auto addFlat = [&](Value acc, Value matrices) -> Value {
      if (!matrices)
        return acc;
      Value flat = flatTokens(b, loc, matrices, flatType);
      return acc ? plus(b, loc, acc, flat) : flat;
    };
    if constexpr (hasMomentum) {
      Value dmNew = addFlat(cotangents[1], dLhs);
      Value dm, dg, dBeta1;
      if (dmNew)
        std::tie(dm, dg, dBeta1) =
            backEma(b, loc, op.getBeta1(), op.getM(), op.getGrad(), dmNew);
      dg = addFlat(dg, dgFromGram);
      out.append(
          {tail.dx, dm, dr, dg, dBeta1, dBetaR, tail.dGamma, tail.dGain});
    } else {
      Value dg = addFlat(addFlat(Value(), dLhs), dgFromGram);
      out.append({tail.dx, dr, dg, dBetaR, tail.dGamma, tail.dGain});
    }
    return success();
  }
};

} // namespace

void mstream::registerMatrixVjpInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    NewtonSchulzOp::attachInterface<NewtonSchulzVjp>(*ctx);
    InvSqrtOp::attachInterface<InvSqrtVjp>(*ctx);
    MuonOp::attachInterface<OrthogonalVjp<MuonOp>>(*ctx);
    OrthoOp::attachInterface<OrthogonalVjp<OrthoOp>>(*ctx);
    ShampooOp::attachInterface<PreconditionedVjp<ShampooOp>>(*ctx);
    SoapOp::attachInterface<PreconditionedVjp<SoapOp>>(*ctx);
  });
}
