//===- FusePreconditioners.cpp - the mstream-fuse-preconditioners pass ----===//
//
// A token's Newton-Schulz or inverse square root is a
// chain of small matrix products on that token's own matrices. As a
// per-token region, every iteration works on matrices that stay in cache
// (on a GPU: in registers and shared memory) instead of streaming the whole
// batch of matrices through memory once per product.
//
//===----------------------------------------------------------------------===//

#include "FusionRegions.h"

#include "mstream/Transforms/Fusion/Passes.h"

namespace mstream {
#define GEN_PASS_DEF_FUSEPRECONDITIONERS
#include "mstream/Transforms/Fusion/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using namespace mstream;

namespace {

/// The ops whose lowering iterates per-token matrices.
bool isPreconditioner(Operation *op) {
  return isa<MuonOp, OrthoOp, ShampooOp, SoapOp, NewtonSchulzOp, InvSqrtOp>(op);
}

struct FusePreconditionersPass
    : mstream::impl::FusePreconditionersBase<FusePreconditionersPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isPreconditioner(op) && !op->getParentOfType<FusedOp>())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      auto input = cast<RankedTensorType>(op->getOperand(0).getType());
      // newton_schulz / inv_sqrt: every axis before the trailing matrix is
      // a token axis. Step ops: [batch, seq] of the stream.
      ArrayRef<int64_t> tokens = isa<NewtonSchulzOp, InvSqrtOp>(op)
                                     ? input.getShape().drop_back(2)
                                     : streamTokens(op->getOperand(0));
      if (tokens.empty())
        continue;
      (void)fuseIntoRegion({op}, regionName(op), tokens);
    }
  }
};

} // namespace
