//===- VjpBuilders.h - building blocks of the VJPs --------------*- C++ -*-===//

#ifndef MSTREAM_PASSES_LIB_VJPBUILDERS_H
#define MSTREAM_PASSES_LIB_VJPBUILDERS_H

#include "mstream/Utils/ModelBuilders.h"

namespace mstream::lowering {

/// lhs * rhs, elementwise.
Value multiply(OpBuilder &b, Location loc, Value lhs, Value rhs);
/// lhs + alpha * rhs, elementwise, for a scalar alpha.
Value addScaled(OpBuilder &b, Location loc, Value lhs, Value alpha, Value rhs);
/// The EMA beta * m + (1 - beta) * g, elementwise, for a scalar beta.
Value blend(OpBuilder &b, Location loc, Value beta, Value m, Value g);
/// alpha * x, elementwise, for a scalar alpha.
Value scale(OpBuilder &b, Location loc, Value alpha, Value x);

/// Sums `[rows..., d]` over every leading axis: `[d]`.
Value sumLeading(OpBuilder &b, Location loc, Value x);

/// The cotangent of a raw scalar `raw` ([1] or []): factor * sum(lhs * rhs),
/// where factor is the derivative of the raw scalar's map.
Value rawScalarCotangent(OpBuilder &b, Location loc, Value raw, Value lhs,
                         Value rhs, Value factor);

/// d sigmoid / d raw = s (1 - s), and d softplus / d raw = sigmoid(raw).
Value sigmoidDerivative(OpBuilder &b, Location loc, Value sigmoidValue);

/// LayerNorm's backward: with g = dy w, dx = invStd (g - mean(g) - x̂
/// mean(g x̂)) and d gain = sum over rows of dy x̂.
struct LayerNormGrads {
  Value dx;
  Value dGain;
};
LayerNormGrads buildLayerNormVjp(OpBuilder &b, Location loc, Value x,
                                 Value gain, double eps, Value dy);

} // namespace mstream::lowering

#endif // MSTREAM_PASSES_LIB_VJPBUILDERS_H
