//===- FuseStreams.cpp - the mstream-fuse-streams pass --------------------===//
//
// One kernel per substep. A substep's stream math is
// the step op, the lookahead of the next substep and the next pre-norm; run
// as one per-token region it reads x, the other streams and g once and
// writes the new streams and the next oracle's input once.
//
//===----------------------------------------------------------------------===//

#include "FusionRegions.h"

#include "mstream/Transforms/Fusion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mstream {
#define GEN_PASS_DEF_FUSESTREAMS
#include "mstream/Transforms/Fusion/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using namespace mstream;

namespace {

/// The step op a fused region (from mstream-fuse-preconditioners) holds.
StepOpInterface heldStep(FusedOp region) {
  for (Operation &op : region.getBody().front())
    if (auto step = dyn_cast<StepOpInterface>(op))
      return step;
  return nullptr;
}

/// The single user of `value` of type OpTy whose `operandIndex` it is.
template <typename OpTy> OpTy userAt(Value value, unsigned operandIndex) {
  for (OpOperand &use : value.getUses())
    if (auto op = dyn_cast<OpTy>(use.getOwner()))
      if (use.getOperandNumber() == operandIndex)
        return op;
  return nullptr;
}

/// The substep around `anchor` (a step op or a region holding one), whose
/// results are (x', streams'...): then the lookahead at (x', v') and the
/// pre-norm of the next oracle.
SmallVector<Operation *> substepGroup(Operation *anchor) {
  SmallVector<Operation *> group = {anchor};
  Value next = anchor->getResult(0);
  if (anchor->getNumResults() > 1)
    if (auto lookahead = userAt<LookaheadOp>(next, 0);
        lookahead && lookahead.getV() == anchor->getResult(1)) {
      group.push_back(lookahead);
      next = lookahead.getResult();
    }
  if (auto norm = userAt<LayerNormOp>(next, 0))
    group.push_back(norm);
  return group;
}

struct FuseStreamsPass : mstream::impl::FuseStreamsBase<FuseStreamsPass> {
  void runOnOperation() override {
    SmallVector<SmallVector<Operation *>> groups;
    llvm::SmallPtrSet<Operation *, 32> grouped;
    getOperation().walk([&](Operation *op) {
      if (op->getParentOfType<FusedOp>())
        return;
      if (isa<StepOpInterface>(op) ||
          (isa<FusedOp>(op) && heldStep(cast<FusedOp>(op)))) {
        groups.push_back(substepGroup(op));
        grouped.insert(groups.back().begin(), groups.back().end());
      }
    });
    // The first substep's lookahead and pre-norm (after the embeddings).
    getOperation().walk([&](LookaheadOp lookahead) {
      if (lookahead->getParentOfType<FusedOp>() || grouped.contains(lookahead))
        return;
      if (auto norm = userAt<LayerNormOp>(lookahead.getResult(), 0))
        groups.push_back({lookahead, norm});
    });
    for (ArrayRef<Operation *> group : groups) {
      Operation *anchor = group.front();
      std::string name = regionName(anchor);
      ArrayRef<int64_t> tokens;
      if (auto region = dyn_cast<FusedOp>(anchor)) {
        name = region.getName().str();
        tokens = region.getTokens();
      } else {
        if (isa<LookaheadOp>(anchor))
          name += ".lookahead";
        tokens = streamTokens(anchor->getOperand(0));
      }
      // A group that ends elsewhere stays as it is (still correct, unfused).
      (void)fuseIntoRegion(group, name, tokens);
    }
  }
};

} // namespace
