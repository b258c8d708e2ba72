//===- InterchangeParallelOutermost.cpp - parallel loops outermost -------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mstream {
#define GEN_PASS_DEF_INTERCHANGEPARALLELOUTERMOST
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct InterchangeParallelOutermostPass
    : mstream::impl::InterchangeParallelOutermostBase<
          InterchangeParallelOutermostPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // A linalg.reduce has no interchange of its own (the fused regions'
    // token sums reduce dimension 0): as a generic it gets one.
    SmallVector<linalg::ReduceOp> reduces;
    getOperation().walk([&](linalg::ReduceOp op) { reduces.push_back(op); });
    for (linalg::ReduceOp op : reduces) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rewriter, op))) {
        op.emitError("cannot rewrite this reduction as a linalg.generic");
        return signalPassFailure();
      }
    }
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    for (linalg::GenericOp op : ops) {
      SmallVector<unsigned> order;
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      for (unsigned i = 0; i < iterators.size(); ++i)
        if (iterators[i] == utils::IteratorType::parallel)
          order.push_back(i);
      for (unsigned i = 0; i < iterators.size(); ++i)
        if (iterators[i] != utils::IteratorType::parallel)
          order.push_back(i);
      if (llvm::is_sorted(order))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitError("cannot interchange the loops of this generic");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
