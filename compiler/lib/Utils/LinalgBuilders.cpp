//===- LinalgBuilders.cpp - building blocks of the linalg lowering --------===//

#include "mstream/Utils/LinalgBuilders.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mstream::lowering;

Value mstream::lowering::constant(OpBuilder &b, Location loc, Type type,
                                  double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value mstream::lowering::filled(OpBuilder &b, Location loc,
                                RankedTensorType type, double value) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value scalar = constant(b, loc, type.getElementType(), value);
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

Value mstream::lowering::buildGeneric(OpBuilder &b, Location loc, Value init,
                                      ValueRange inputs,
                                      ArrayRef<AffineMap> inputMaps,
                                      AffineMap outputMap,
                                      ArrayRef<utils::IteratorType> iterators,
                                      BodyBuilder body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(outputMap);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

Value mstream::lowering::buildMap(OpBuilder &b, Location loc,
                                  RankedTensorType resultType,
                                  ValueRange inputs, ArrayRef<AffineMap> maps,
                                  BodyBuilder body) {
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                       resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  // The output element is not read: drop it from the body's arguments.
  return buildGeneric(
      b, loc, init, inputs, maps,
      b.getMultiDimIdentityMap(resultType.getRank()), iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        return body(nested, nestedLoc, args.drop_back());
      });
}

Value mstream::lowering::buildElementwise(OpBuilder &b, Location loc,
                                          ValueRange inputs, BodyBuilder body) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  SmallVector<AffineMap> maps(inputs.size(),
                              b.getMultiDimIdentityMap(type.getRank()));
  return buildMap(b, loc, type, inputs, maps, body);
}

SmallVector<Value> mstream::lowering::buildElementwiseResults(
    OpBuilder &b, Location loc, ValueRange inputs, unsigned numResults,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body,
    ArrayRef<Value> destinations) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numResults; ++i)
    inits.push_back(i < destinations.size() && destinations[i]
                        ? destinations[i]
                        : tensor::EmptyOp::create(b, loc, type.getShape(),
                                                  type.getElementType()));
  SmallVector<AffineMap> maps(inputs.size() + numResults,
                              b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange(ValueRange(inits)), inputs, inits, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(
            nested, nestedLoc,
            body(nested, nestedLoc, args.take_front(inputs.size())));
      });
  return SmallVector<Value>(generic.getResults());
}

AffineMap mstream::lowering::leadingMap(MLIRContext *context, int64_t rank,
                                        unsigned dropped) {
  SmallVector<AffineExpr> results;
  for (int64_t i = 0; i < rank - static_cast<int64_t>(dropped); ++i)
    results.push_back(getAffineDimExpr(i, context));
  return AffineMap::get(rank, 0, results, context);
}

AffineMap mstream::lowering::lastAxisMap(MLIRContext *context, int64_t rank) {
  return AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, context));
}

Value mstream::lowering::buildTrailingReduction(OpBuilder &b, Location loc,
                                                int64_t rank, unsigned reduced,
                                                ValueRange inputs,
                                                ArrayRef<AffineMap> maps,
                                                double init,
                                                BodyBuilder combine) {
  // The iteration space is the first input's full shape.
  auto full = cast<RankedTensorType>(inputs.front().getType());
  auto resultType = RankedTensorType::get(full.getShape().drop_back(reduced),
                                          full.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  for (unsigned i = 0; i < reduced; ++i)
    iterators[rank - 1 - i] = utils::IteratorType::reduction;
  Value result = buildGeneric(b, loc, filled(b, loc, resultType, init), inputs,
                              maps, leadingMap(b.getContext(), rank, reduced),
                              iterators, combine);
  // The combining op may reassociate, so that LLVM vectorises the reduction
  // with several partial sums: otherwise a LayerNorm row of 512 is 512
  // dependent adds, each waiting for the last.
  auto generic = result.getDefiningOp<linalg::GenericOp>();
  for (Value yielded : generic.getBody()->getTerminator()->getOperands())
    if (auto math = yielded.getDefiningOp<arith::ArithFastMathInterface>())
      math->setAttr(math.getFastMathAttrName(),
                    arith::FastMathFlagsAttr::get(
                        b.getContext(), math.getFastMathFlagsAttr().getValue() |
                                            arith::FastMathFlags::reassoc));
  return result;
}

/// `[m, n, k]`-style maps of a contraction with batch axes in front.
static SmallVector<AffineMap> contractionMaps(MLIRContext *context,
                                              unsigned batch, bool transA,
                                              bool transB) {
  unsigned rank = batch + 3;
  SmallVector<AffineExpr> lead;
  for (unsigned i = 0; i < batch; ++i)
    lead.push_back(getAffineDimExpr(i, context));
  AffineExpr m = getAffineDimExpr(batch, context);
  AffineExpr n = getAffineDimExpr(batch + 1, context);
  AffineExpr k = getAffineDimExpr(batch + 2, context);
  auto map = [&](AffineExpr first, AffineExpr second) {
    SmallVector<AffineExpr> results(lead);
    results.append({first, second});
    return AffineMap::get(rank, 0, results, context);
  };
  return {transA ? map(k, m) : map(m, k), transB ? map(n, k) : map(k, n),
          map(m, n)};
}

static RankedTensorType contractionResult(Value a, Value bm, bool transA,
                                          bool transB) {
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bm.getType());
  int64_t rank = aType.getRank();
  SmallVector<int64_t> shape(aType.getShape().drop_back(2));
  shape.push_back(aType.getDimSize(transA ? rank - 1 : rank - 2));
  shape.push_back(bType.getDimSize(transB ? rank - 2 : rank - 1));
  return RankedTensorType::get(shape, aType.getElementType());
}

/// A named GEMM op (linalg.matmul or batch_matmul) with explicit maps, so
/// that GemmToBlas can read the transpositions off them.
template <typename OpTy>
static Value buildNamedGemm(OpBuilder &b, Location loc, Value a, Value bm,
                            unsigned batch, bool transposeA, bool transposeB) {
  RankedTensorType type = contractionResult(a, bm, transposeA, transposeB);
  Value init = filled(b, loc, type, 0.0);
  auto maps = contractionMaps(b.getContext(), batch, transposeA, transposeB);
  return OpTy::create(
             b, loc, TypeRange{type}, ValueRange{a, bm}, ValueRange{init},
             b.getNamedAttr("indexing_maps", b.getAffineMapArrayAttr(maps)))
      .getResult(0);
}

Value mstream::lowering::buildMatmul(OpBuilder &b, Location loc, Value a,
                                     Value bm, bool transposeA,
                                     bool transposeB) {
  return buildNamedGemm<linalg::MatmulOp>(b, loc, a, bm, 0, transposeA,
                                          transposeB);
}

Value mstream::lowering::buildLinear(OpBuilder &b, Location loc, Value a,
                                     Value w) {
  return buildOracleMatmul(b, loc, a, w, false, true);
}

static Value markOracleProduct(Value product) {
  product.getDefiningOp()->setAttr(mstream::kOracleProductAttrName,
                                   UnitAttr::get(product.getContext()));
  return product;
}

Value mstream::lowering::buildOracleMatmul(OpBuilder &b, Location loc, Value a,
                                           Value bm, bool transposeA,
                                           bool transposeB) {
  return markOracleProduct(buildMatmul(b, loc, a, bm, transposeA, transposeB));
}

Value mstream::lowering::buildOracleBatchMatmul(OpBuilder &b, Location loc,
                                                Value a, Value bm,
                                                bool transposeA,
                                                bool transposeB) {
  return markOracleProduct(
      buildBatchMatmul(b, loc, a, bm, transposeA, transposeB));
}

Value mstream::lowering::buildBatchMatmul(OpBuilder &b, Location loc, Value a,
                                          Value bm, bool transposeA,
                                          bool transposeB) {
  return buildNamedGemm<linalg::BatchMatmulOp>(b, loc, a, bm, 1, transposeA,
                                               transposeB);
}

Value mstream::lowering::buildTokenMatmul(OpBuilder &b, Location loc, Value a,
                                          Value bm, bool transposeA,
                                          bool transposeB) {
  RankedTensorType type = contractionResult(a, bm, transposeA, transposeB);
  int64_t k =
      cast<RankedTensorType>(a.getType()).getDimSize(transposeA ? 1 : 2);
  if (type.getDimSize(1) * type.getDimSize(2) * k >= kBlasTokenMatmulVolume)
    return buildBatchMatmul(b, loc, a, bm, transposeA, transposeB);

  // Loops (N, m, k, n): the innermost loop runs along contiguous rows of bm
  // and the result, which vectorises without reassociating a reduction.
  MLIRContext *context = b.getContext();
  auto map = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> results;
    for (unsigned dim : dims)
      results.push_back(getAffineDimExpr(dim, context));
    return AffineMap::get(4, 0, results, context);
  };
  AffineMap lhs = transposeA ? map({0, 2, 1}) : map({0, 1, 2});
  AffineMap rhs = transposeB ? map({0, 3, 2}) : map({0, 2, 3});
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::reduction, utils::IteratorType::parallel};
  return buildGeneric(
      b, loc, filled(b, loc, type, 0.0), ValueRange{a, bm}, {lhs, rhs},
      map({0, 1, 3}), iterators,
      [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value product =
            arith::MulFOp::create(nested, nestedLoc, args[0], args[1]);
        return arith::AddFOp::create(nested, nestedLoc, args[2], product)
            .getResult();
      });
}

/// The reassociation between `[lead..., kept...]` (rank `rank`) and
/// `[N, kept...]`; with no leading axes, a unit N is split off the first.
static SmallVector<ReassociationIndices> leadingGroups(int64_t rank,
                                                       unsigned kept) {
  SmallVector<ReassociationIndices> groups(1);
  if (rank == kept) {
    groups[0] = {0, 1};
    for (int64_t i = 2; i <= rank; ++i)
      groups.push_back({i});
    return groups;
  }
  for (int64_t i = 0; i < rank - kept; ++i)
    groups[0].push_back(i);
  for (int64_t i = rank - kept; i < rank; ++i)
    groups.push_back({i});
  return groups;
}

Value mstream::lowering::collapseLeading(OpBuilder &b, Location loc, Value x,
                                         unsigned kept) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank == kept + 1)
    return x;
  if (rank == kept) {
    SmallVector<int64_t> shape = {1};
    shape.append(type.getShape().begin(), type.getShape().end());
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), x,
        leadingGroups(rank, kept));
  }
  return tensor::CollapseShapeOp::create(b, loc, x, leadingGroups(rank, kept));
}

Value mstream::lowering::expandLeading(OpBuilder &b, Location loc, Value x,
                                       RankedTensorType type) {
  unsigned kept = cast<RankedTensorType>(x.getType()).getRank() - 1;
  int64_t rank = type.getRank();
  if (rank == kept + 1)
    return x;
  if (rank == kept)
    return tensor::CollapseShapeOp::create(b, loc, type, x,
                                           leadingGroups(rank, kept));
  return tensor::ExpandShapeOp::create(b, loc, type, x,
                                       leadingGroups(rank, kept));
}

Value mstream::lowering::extractScalar(OpBuilder &b, Location loc, Value raw) {
  auto type = cast<RankedTensorType>(raw.getType());
  SmallVector<Value> indices;
  if (type.getRank() == 1)
    indices.push_back(arith::ConstantIndexOp::create(b, loc, 0));
  return tensor::ExtractOp::create(b, loc, raw, indices);
}

Value mstream::lowering::sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = constant(b, loc, x.getType(), 1.0);
  Value negated = arith::NegFOp::create(b, loc, x);
  Value denominator =
      arith::AddFOp::create(b, loc, one, math::ExpOp::create(b, loc, negated));
  return arith::DivFOp::create(b, loc, one, denominator);
}

Value mstream::lowering::softplus(OpBuilder &b, Location loc, Value x) {
  Value zero = constant(b, loc, x.getType(), 0.0);
  Value positive = arith::MaximumFOp::create(b, loc, x, zero);
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
  Value tail =
      math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(b, loc, positive, tail);
}
