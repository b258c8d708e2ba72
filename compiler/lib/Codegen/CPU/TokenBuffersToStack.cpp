//===- TokenBuffersToStack.cpp - the mstream-token-buffers-to-stack pass --===//
//
// A backward region's token loop allocates its intermediates (a few KiB)
// for every token, and malloc and free of them showed in profiles. A
// token-range function runs its tokens one after another on one thread,
// and each such buffer lives within one run of its block, so a stack slot
// in the function's frame can hold it for every token in turn.
//
//===----------------------------------------------------------------------===//

#include "mstream/Utils/BufferLifetime.h"

#include "mstream/Codegen/CPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mstream {
#define GEN_PASS_DEF_TOKENBUFFERSTOSTACK
#include "mstream/Codegen/CPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// The bytes of a statically shaped buffer of ints or floats.
std::optional<int64_t> staticBytes(MemRefType type) {
  Type element = type.getElementType();
  if (!type.hasStaticShape() || !element.isIntOrFloat())
    return std::nullopt;
  return type.getNumElements() *
         llvm::divideCeil(element.getIntOrFloatBitWidth(), 8);
}

/// The dealloc of `alloc` in its own block, if there is one.
memref::DeallocOp deallocInBlock(memref::AllocOp alloc) {
  for (Operation *user : alloc->getUsers())
    if (auto dealloc = dyn_cast<memref::DeallocOp>(user))
      if (dealloc->getBlock() == alloc->getBlock())
        return dealloc;
  return {};
}

struct TokenBuffersToStackPass
    : mstream::impl::TokenBuffersToStackBase<TokenBuffersToStackPass> {
  using TokenBuffersToStackBase::TokenBuffersToStackBase;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      if (func->hasAttr(mstream::kTokenRangeAttrName) && !func.isExternal())
        promote(func);
    });
  }

  void promote(func::FuncOp func) {
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp op) { allocs.push_back(op); });
    Block &entry = func.getBody().front();
    OpBuilder b(&entry, entry.begin());
    int64_t used = 0;
    for (memref::AllocOp alloc : allocs) {
      memref::DeallocOp dealloc = deallocInBlock(alloc);
      std::optional<int64_t> bytes = staticBytes(alloc.getType());
      if (!dealloc || !bytes || used + *bytes > maxBytes ||
          failed(mstream::lastUseInBlock(dealloc)))
        continue;
      used += *bytes;
      auto slot = memref::AllocaOp::create(b, alloc.getLoc(), alloc.getType(),
                                           alloc.getAlignmentAttr());
      b.setInsertionPointAfter(slot);
      alloc.replaceAllUsesWith(slot.getResult());
      dealloc.erase();
      alloc.erase();
    }
  }
};

} // namespace
