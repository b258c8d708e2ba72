//===- MatrixBuilders.h - per-token matrix pieces ----------------*- C++
//-*-===//
//
// Helpers on batches of small matrices `[N, m, n]` (N the flattened token
// axes) shared by the Newton-Schulz / inverse-square-root lowering and their
// vector-Jacobian products.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_LIB_MATRIXBUILDERS_H
#define MSTREAM_PASSES_LIB_MATRIXBUILDERS_H

#include "LinalgBuilders.h"

namespace mstream::lowering {

/// Inside a generic of rank `rank`: whether the trailing two indices agree.
Value isDiagonal(OpBuilder &b, Location loc, unsigned rank);

/// Per matrix `max(||z||_F, clamp)`, shape `[N]`.
Value frobeniusNorm(OpBuilder &b, Location loc, Value z, double clamp);

/// `z[n, ...] / perMatrix[n]` (or `*` when not `divide`).
Value scaleMatrices(OpBuilder &b, Location loc, Value z, Value perMatrix,
                    bool divide);

/// Each matrix transposed.
Value transposeMatrices(OpBuilder &b, Location loc, Value z);

/// alpha I + beta A (+ gamma B when B is given), per matrix.
Value identityCombination(OpBuilder &b, Location loc, double alpha, Value a,
                          double beta, Value bm = Value(), double gamma = 0);

/// Per matrix sum of lhs * rhs: `[N]`.
Value matrixDot(OpBuilder &b, Location loc, Value lhs, Value rhs);

} // namespace mstream::lowering

#endif // MSTREAM_PASSES_LIB_MATRIXBUILDERS_H
