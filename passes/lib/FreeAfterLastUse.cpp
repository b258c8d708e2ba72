//===- FreeAfterLastUse.cpp - the mstream-free-after-last-use pass --------===//
//
// A buffer's dealloc moves from the end of its block to right after the
// last op of the block that touches the buffer or anything derived from
// it. Derived values are followed conservatively: every memref or pointer
// result of an op that uses the buffer (a view, a loop that yields it, a
// call) counts as an alias, and a nested use counts at its ancestor in the
// block.
//
//===----------------------------------------------------------------------===//

#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mstream {
#define GEN_PASS_DEF_FREEAFTERLASTUSE
#include "mstream/Passes/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// A value that can carry the buffer's address on.
bool mayAlias(Value value) {
  Type type = value.getType();
  return isa<BaseMemRefType, LLVM::LLVMPointerType>(type) ||
         value.getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
}

/// The op of `block` right after which `dealloc` can free its buffer (null:
/// nothing uses it), or failure when it must stay where it is.
FailureOr<Operation *> lastUse(memref::DeallocOp dealloc, Block *block) {
  SmallVector<Value> worklist{dealloc.getMemref()};
  DenseSet<Value> aliases{dealloc.getMemref()};
  Operation *last = nullptr;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (user == dealloc.getOperation())
        continue;
      if (isa<memref::DeallocOp>(user))
        return failure();
      Operation *ancestor = block->findAncestorOpInBlock(*user);
      if (!ancestor || ancestor->hasTrait<OpTrait::IsTerminator>())
        return failure();
      if (!last || last->isBeforeInBlock(ancestor))
        last = ancestor;
      // The ancestor's results carry a nested alias out of its regions.
      for (Operation *carrier : {user, ancestor})
        for (Value result : carrier->getResults())
          if (mayAlias(result) && aliases.insert(result).second)
            worklist.push_back(result);
    }
  }
  return last;
}

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
      FailureOr<Operation *> use = lastUse(dealloc, block);
      if (failed(use))
        continue;
      Operation *last = *use ? *use : alloc.getOperation();
      if (last->isBeforeInBlock(dealloc))
        dealloc->moveAfter(last);
    }
  }
};

} // namespace
