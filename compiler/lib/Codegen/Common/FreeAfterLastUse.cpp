//===- FreeAfterLastUse.cpp - the mstream-free-after-last-use pass --------===//
//
// A buffer's dealloc moves from the end of its block to right after the
// last op of the block that touches the buffer or anything derived from
// it (BufferLifetime.h).
//
//===----------------------------------------------------------------------===//

#include "mstream/Utils/BufferLifetime.h"

#include "mstream/Codegen/Common/Passes.h"

namespace mstream {
#define GEN_PASS_DEF_FREEAFTERLASTUSE
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct FreeAfterLastUsePass
    : mstream::impl::FreeAfterLastUseBase<FreeAfterLastUsePass> {
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation().walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    for (memref::DeallocOp dealloc : deallocs) {
      auto alloc = dealloc.getMemref().getDefiningOp<memref::AllocOp>();
      Block *block = dealloc->getBlock();
      if (!alloc || alloc->getBlock() != block)
        continue;
      FailureOr<Operation *> use = mstream::lastUseInBlock(dealloc);
      if (failed(use))
        continue;
      Operation *last = *use ? *use : alloc.getOperation();
      if (last->isBeforeInBlock(dealloc))
        dealloc->moveAfter(last);
    }
  }
};

} // namespace
