//===- SplitReductions.cpp - the mstream-split-reductions pass ------------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mstream {
#define GEN_PASS_DEF_SPLITREDUCTIONS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// (d0, ..., d[loops-1]) -> (d0, ..., d[leading-1]).
AffineMap leadingDims(unsigned loops, unsigned leading, MLIRContext *context) {
  SmallVector<AffineExpr> results;
  for (unsigned i = 0; i < leading; ++i)
    results.push_back(getAffineDimExpr(i, context));
  return AffineMap::get(loops, 0, results, context);
}

/// Whether `input` is read with the result's map: one value per output,
/// broadcast along the reduction (a LayerNorm variance reads the mean so).
bool isBroadcastInput(linalg::GenericOp op, OpOperand *input,
                      unsigned parallel) {
  return op.getMatchingIndexingMap(input) ==
         leadingDims(op.getNumLoops(), parallel, op.getContext());
}

/// The number of leading parallel dimensions of a generic that reduces
/// tensors over its trailing dimensions into a result indexed by the
/// leading ones, its body free of linalg.index, each input identity-indexed
/// or broadcast along the reduction; such a reduction may be flattened to
/// one reduction dimension.
std::optional<unsigned> leadingParallelDims(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0 ||
      !op.hasPureTensorSemantics() ||
      ShapedType::isDynamicShape(op.getStaticLoopRanges()))
    return std::nullopt;
  unsigned parallel = op.getNumParallelLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned i = 0; i < iterators.size(); ++i)
    if ((iterators[i] == utils::IteratorType::parallel) != (i < parallel))
      return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!op.getMatchingIndexingMap(input).isIdentity() &&
        !isBroadcastInput(op, input, parallel))
      return std::nullopt;
  AffineMap result = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (result != leadingDims(op.getNumLoops(), parallel, op.getContext()))
    return std::nullopt;
  bool readsIndex = false;
  op.getBody()->walk([&](linalg::IndexOp) { readsIndex = true; });
  if (readsIndex)
    return std::nullopt;
  return parallel;
}

struct SplitReductionsPass
    : mstream::impl::SplitReductionsBase<SplitReductionsPass> {
  using SplitReductionsBase::SplitReductionsBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (leadingParallelDims(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates)
      split(rewriter, op);
  }

  void split(IRRewriter &rewriter, linalg::GenericOp op) {
    unsigned parallel = *leadingParallelDims(op);
    SmallVector<int64_t> extents = op.getStaticLoopRanges();
    int64_t rows = 1, size = 1;
    for (unsigned i = 0; i < extents.size(); ++i)
      (i < parallel ? rows : size) *= extents[i];
    // Inside a token loop, a block's threads share the reduction.
    bool inToken = op->getParentOfType<scf::ForallOp>() != nullptr;
    int64_t smallest = inToken ? tokenMinSize : minSize;
    int64_t largest = inToken ? tokenMaxRatio : maxRatio;
    int64_t fewest = inToken ? 8 : 32;
    // Enough rows give every thread its own reduction. A long one still
    // takes a warp's width of partials: a warp then reads whole cache lines
    // of one row instead of one element of each of 32 rows (the loss's
    // rows over the vocabulary).
    int64_t ratio = rows < largest ? largest : inToken ? 0 : 32;
    while (ratio >= fewest && size % ratio != 0)
      ratio /= 2;
    if (smallest == 0 || size < smallest || ratio < fewest)
      return;

    // Flatten: the reduction dimensions of each input become one.
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    MLIRContext *context = &getContext();
    unsigned loops = parallel + 1;
    AffineMap element = AffineMap::getMultiDimIdentityMap(loops, context);
    AffineMap result = leadingDims(loops, parallel, context);
    SmallVector<Value> flat;
    SmallVector<AffineMap> maps;
    for (OpOperand *operand : op.getDpsInputOperands()) {
      Value input = operand->get();
      if (isBroadcastInput(op, operand, parallel)) {
        flat.push_back(input);
        maps.push_back(result);
        continue;
      }
      maps.push_back(element);
      auto type = cast<RankedTensorType>(input.getType());
      SmallVector<ReassociationIndices> groups;
      for (unsigned i = 0; i < parallel; ++i)
        groups.push_back({int64_t(i)});
      groups.emplace_back();
      for (int64_t i = parallel; i < type.getRank(); ++i)
        groups.back().push_back(i);
      flat.push_back(
          groups.back().size() == 1
              ? input
              : tensor::CollapseShapeOp::create(rewriter, loc, input, groups)
                    .getResult());
    }
    maps.push_back(result);
    SmallVector<utils::IteratorType> iterators(parallel,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    auto flattened =
        linalg::GenericOp::create(rewriter, loc, op.getResultTypes(), flat,
                                  op.getDpsInits(), maps, iterators);
    rewriter.inlineRegionBefore(op.getRegion(), flattened.getRegion(),
                                flattened.getRegion().end());
    rewriter.replaceOp(op, flattened.getResults());

    auto control = [&](linalg::LinalgOp) {
      linalg::SplitReductionOptions options;
      options.ratio = ratio;
      options.index = parallel;
      options.innerParallel = true;
      return options;
    };
    // An unrecognised combiner leaves the flattened reduction, still correct.
    (void)linalg::splitReduction(rewriter, flattened, control);
  }
};

} // namespace
