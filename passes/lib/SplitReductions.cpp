//===- SplitReductions.cpp - the mstream-split-reductions pass ------------===//

#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mstream {
#define GEN_PASS_DEF_SPLITREDUCTIONS
#include "mstream/Passes/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// A generic reducing identity-indexed tensors to one scalar, its body free
/// of linalg.index: it may be flattened to one reduction dimension.
bool isFullReduction(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumParallelLoops() != 0 ||
      op.getNumLoops() == 0 || !op.hasPureTensorSemantics())
    return false;
  auto result = cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (result.getRank() != 0 || !op.getStaticLoopRanges().size())
    return false;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!op.getMatchingIndexingMap(input).isIdentity())
      return false;
  bool readsIndex = false;
  op.getBody()->walk([&](linalg::IndexOp) { readsIndex = true; });
  return !readsIndex && !ShapedType::isDynamicShape(op.getStaticLoopRanges());
}

struct SplitReductionsPass
    : mstream::impl::SplitReductionsBase<SplitReductionsPass> {
  using SplitReductionsBase::SplitReductionsBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isFullReduction(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates)
      split(rewriter, op);
  }

  void split(IRRewriter &rewriter, linalg::GenericOp op) {
    int64_t size = 1;
    for (int64_t extent : op.getStaticLoopRanges())
      size *= extent;
    int64_t ratio = maxRatio;
    while (ratio >= 32 && size % ratio != 0)
      ratio /= 2;
    if (size < minSize || ratio < 32)
      return;

    // Flatten: one reduction dimension over 1-D views of the inputs.
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    SmallVector<Value> flat;
    for (Value input : op.getDpsInputs()) {
      auto type = cast<RankedTensorType>(input.getType());
      SmallVector<ReassociationIndices> all(1);
      for (int64_t i = 0; i < type.getRank(); ++i)
        all[0].push_back(i);
      flat.push_back(type.getRank() == 1 ? input
                                         : tensor::CollapseShapeOp::create(
                                               rewriter, loc, input, all)
                                               .getResult());
    }
    MLIRContext *context = &getContext();
    AffineMap element = AffineMap::get(1, 0, getAffineDimExpr(0, context));
    AffineMap scalar = AffineMap::get(1, 0, context);
    SmallVector<AffineMap> maps(flat.size(), element);
    maps.push_back(scalar);
    auto flattened = linalg::GenericOp::create(
        rewriter, loc, op.getResultTypes(), flat, op.getDpsInits(), maps,
        {utils::IteratorType::reduction});
    rewriter.inlineRegionBefore(op.getRegion(), flattened.getRegion(),
                                flattened.getRegion().end());
    rewriter.replaceOp(op, flattened.getResults());

    auto control = [&](linalg::LinalgOp) {
      linalg::SplitReductionOptions options;
      options.ratio = ratio;
      options.index = 0;
      options.innerParallel = true;
      return options;
    };
    // An unrecognised combiner leaves the flattened reduction, still correct.
    (void)linalg::splitReduction(rewriter, flattened, control);
  }
};

} // namespace
