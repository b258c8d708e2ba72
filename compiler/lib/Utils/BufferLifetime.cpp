//===- BufferLifetime.cpp - where a buffer's last use is ------------------===//

#include "mstream/Utils/BufferLifetime.h"

#include "mlir/Dialect/LLVMIR/LLVMTypes.h"

using namespace mlir;

namespace {

/// A value that can carry the buffer's address on.
bool mayAlias(Value value) {
  Type type = value.getType();
  return isa<BaseMemRefType, LLVM::LLVMPointerType>(type) ||
         value.getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
}

} // namespace

FailureOr<Operation *> mstream::lastUseInBlock(memref::DeallocOp dealloc) {
  Block *block = dealloc->getBlock();
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
