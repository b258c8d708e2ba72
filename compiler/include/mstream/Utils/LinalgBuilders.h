//===- LinalgBuilders.h - pieces of the linalg lowering ---------*- C++ -*-===//
//
// Small builders on ranked tensors shared by the lowering patterns: maps and
// reductions as linalg.generic, GEMMs as linalg named ops (routed to BLAS
// later), per-token matrix products as generated contractions, and the raw
// scalar maps.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_LIB_LINALGBUILDERS_H
#define MSTREAM_PASSES_LIB_LINALGBUILDERS_H

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mstream::lowering {

using mlir::AffineMap;
using mlir::Location;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::Value;
using mlir::ValueRange;

/// Computes one output element from the block arguments of a generic: the
/// input elements, then (for reductions) the accumulator.
using BodyBuilder =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A scalar constant of `type`.
Value constant(OpBuilder &b, Location loc, mlir::Type type, double value);

/// `tensor.empty` filled with `value`.
Value filled(OpBuilder &b, Location loc, RankedTensorType type, double value);

/// An all-parallel generic producing `resultType`; input i is read through
/// maps[i] from the result's iteration space.
Value buildMap(OpBuilder &b, Location loc, RankedTensorType resultType,
               ValueRange inputs, llvm::ArrayRef<AffineMap> maps,
               BodyBuilder body);

/// Elementwise over inputs that all have the type of the first.
Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       BodyBuilder body);

/// Like buildElementwise with `numResults` results of the first input's
/// type, all computed in one generic (one pass over memory). A non-null
/// `inits[i]` is result i's destination (a slice of a larger tensor).
llvm::SmallVector<Value> buildElementwiseResults(
    OpBuilder &b, Location loc, ValueRange inputs, unsigned numResults,
    llvm::function_ref<llvm::SmallVector<Value>(OpBuilder &, Location,
                                                ValueRange)>
        body,
    llvm::ArrayRef<Value> inits = {});
/// Reduces the trailing `reduced` axes of an iteration space of rank `rank`
/// (inputs read through `maps`), starting from `init`; the result drops
/// those axes.
Value buildTrailingReduction(OpBuilder &b, Location loc, int64_t rank,
                             unsigned reduced, ValueRange inputs,
                             llvm::ArrayRef<AffineMap> maps, double init,
                             BodyBuilder combine);

/// (d0, ..., d{rank-1}) -> (d0, ..., d{rank-1-dropped}).
AffineMap leadingMap(mlir::MLIRContext *context, int64_t rank,
                     unsigned dropped);
/// (d0, ..., d{rank-1}) -> (d{rank-1}).
AffineMap lastAxisMap(mlir::MLIRContext *context, int64_t rank);

/// `op(a) x op(b)` as a linalg.matmul whose maps carry the transpositions:
/// a GEMM for the runtime's BLAS.
Value buildMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                  bool transposeA, bool transposeB);

/// buildMatmul and buildBatchMatmul for the oracles' products, marked
/// (kOracleProductAttrName) as ones the precision policy may run in bf16.
Value buildOracleMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                        bool transposeA, bool transposeB);
Value buildOracleBatchMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                             bool transposeA, bool transposeB);

/// `a [M, K] x wᵀ` for a PyTorch Linear weight `w [N, K]`: an oracle
/// product.
Value buildLinear(OpBuilder &b, Location loc, Value a, Value w);

/// Batched GEMM over the leading axis of `[N, ., .]` operands.
Value buildBatchMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                       bool transposeA, bool transposeB);

/// A linalg.generic writing into `init`; `body` sees the input elements and
/// the output element and returns the new output element.
Value buildGeneric(OpBuilder &b, Location loc, Value init, ValueRange inputs,
                   llvm::ArrayRef<AffineMap> inputMaps, AffineMap outputMap,
                   llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                   BodyBuilder body);

/// From this many multiply-adds (m n k) a per-token matrix product is a
/// batch_matmul for the BLAS: shampoo's and soap's Dh x Dh products at
/// Dh >= 32. Smaller ones (Newton-Schulz's H x H Gram side) cost less than
/// a library call.
inline constexpr int64_t kBlasTokenMatmulVolume = 32 * 32 * 32;

/// A per-token matrix product over `[N, m, k] x [N, k, n]`: a batch_matmul
/// from kBlasTokenMatmulVolume on, else a generated contraction.
/// `transposeA` reads a as `[N, k, m]`, `transposeB` reads bm as
/// `[N, n, k]`.
Value buildTokenMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                       bool transposeA, bool transposeB = false);

/// Collapses all but the trailing `kept` axes into one leading axis (adding
/// a unit one when there is none): `[..., H, Dh]` -> `[N, H, Dh]`.
Value collapseLeading(OpBuilder &b, Location loc, Value x, unsigned kept);
/// Inverse of collapseLeading back to `type`.
Value expandLeading(OpBuilder &b, Location loc, Value x, RankedTensorType type);

/// Element `[0]` (or `[]`) of a one-element raw scalar tensor.
Value extractScalar(OpBuilder &b, Location loc, Value raw);
Value sigmoid(OpBuilder &b, Location loc, Value x);
/// log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never
/// overflows.
Value softplus(OpBuilder &b, Location loc, Value x);

} // namespace mstream::lowering

#endif // MSTREAM_PASSES_LIB_LINALGBUILDERS_H
