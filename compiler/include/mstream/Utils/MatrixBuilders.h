//===- MatrixBuilders.h - per-token matrix pieces ---------------*- C++ -*-===//
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

/// ½ (M + Mᵀ) per matrix, in one generic. Exactly symmetric, so its
/// square may be written as a product with its transpose, which the
/// runtime runs as ssyrk.
Value symmetricPart(OpBuilder &b, Location loc, Value m);

/// alpha I + beta A (+ gamma B when B is given), per matrix.
Value identityCombination(OpBuilder &b, Location loc, double alpha, Value a,
                          double beta, Value bm = Value(), double gamma = 0);

/// Identity matrices in the trailing two axes of `type` (any rank >= 2).
Value identityMatrices(OpBuilder &b, Location loc, RankedTensorType type);

/// Whether Newton-Schulz on `[N, m, n]` uses the m x m Gram Y Yᵀ (m < n):
/// Y p(YᵀY) = p(YYᵀ) Y, so the smaller side gives the same iterate.
bool gramOnRows(Value y);
/// A product of per-matrix batches with optional transpositions:
/// buildTokenMatmul (generated loops) or buildBatchMatmul (BLAS).
using MatmulBuilder = Value (*)(OpBuilder &, Location, Value, Value, bool,
                                bool);
/// The Gram matrix of a quintic Newton-Schulz step on `[N, m, n]` (on the
/// smaller side, gramOnRows) and the polynomial p(A) = aI + bA + cA² with
/// `coeffs` = [a, b, c].
struct NewtonSchulzPoly {
  Value gram, poly;
};
NewtonSchulzPoly newtonSchulzPoly(OpBuilder &b, Location loc, Value y,
                                  llvm::ArrayRef<double> coeffs,
                                  MatmulBuilder matmul = buildTokenMatmul);
/// One quintic Newton-Schulz step: Y p(YᵀY), computed as p(YYᵀ) Y when
/// the rows are fewer (per-token `[N, H, Dh]` with H < Dh, or a wide weight).
Value newtonSchulzStep(OpBuilder &b, Location loc, Value y,
                       llvm::ArrayRef<double> coeffs,
                       MatmulBuilder matmul = buildTokenMatmul);

/// Whether Newton-Schulz on `[N, m, n]` costs fewer multiply-adds in the
/// Gram space (gramSpaceNewtonSchulz) than on Y: from a long side twice the
/// short one (for 5 steps, 3r + 10 against 7.5r + 2.5 short-side cubes, r
/// the aspect ratio, counting self-products at half).
bool gramSpaceIsCheaper(Value y);
/// `steps` Newton-Schulz steps with every product on the short side s x s:
/// every iterate is Y_k = P_k Y (Y P_k when tall) for a polynomial P_k in
/// the Gram A = Y Yᵀ, so P_{k+1} = p(A_k) P_k and A_{k+1} = p(A_k)² A_k,
/// and only the first Gram and the last product touch Y. P_k's errors grow
/// with its norm (up to 3.4^k), so every 3 steps the iterate is formed and
/// its Gram recomputed. Equal to newtonSchulzStep applied `steps` times in
/// exact arithmetic.
Value gramSpaceNewtonSchulz(OpBuilder &b, Location loc, Value y,
                            llvm::ArrayRef<double> coeffs, int64_t steps,
                            MatmulBuilder matmul);
/// The inverse square root's set-up on `[N, n, n]`: Rr = R + eps I,
/// scale = max(||Rr||_F, eps), normalized = Rr / scale.
struct InvSqrtSetup {
  Value ridged, scale, normalized;
};
InvSqrtSetup buildInvSqrtSetup(OpBuilder &b, Location loc, Value r, double eps);

/// The inverse square root's Newton iteration X_{k+1} = X_k (1.5 I - 0.5
/// X_k N X_k), X_0 = I, in coupled form. Every X_k is a polynomial in N, so
/// P_k = X_k N X_k = X_k² N, with P_0 = N, and with T_k = 1.5 I - 0.5 P_k:
/// X_{k+1} = X_k T_k and P_{k+1} = P_k T_k². As many products as X N X
/// takes, but its derivative is cheaper (backInvSqrt in VjpMatrixOps.cpp),
/// and X_1 = T_0 needs none.
struct InvSqrtStep {
  /// T_k, T_k² (null in the last step), X_{k+1}, P_{k+1} (null in the last
  /// step).
  Value factor, square, x, p;
};
/// All `iterations` steps from N = `normalized`, unrolled: a loop carrying
/// both X and P would need runtime alias checks on its buffers.
llvm::SmallVector<InvSqrtStep>
invSqrtSteps(OpBuilder &b, Location loc, Value normalized, int64_t iterations);

/// Runs `step` `count` times on `init` in an scf.for over tensors.
Value iterate(OpBuilder &b, Location loc, int64_t count, Value init,
              llvm::function_ref<Value(OpBuilder &, Location, Value)> step);
/// Per matrix sum of lhs * rhs: `[N]`.
Value matrixDot(OpBuilder &b, Location loc, Value lhs, Value rhs);

} // namespace mstream::lowering

#endif // MSTREAM_PASSES_LIB_MATRIXBUILDERS_H
