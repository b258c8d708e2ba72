//===- PrivateFillInits.cpp - the mstream-private-fill-inits pass ---------===//

#include "mstream/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mstream {
#define GEN_PASS_DEF_PRIVATEFILLINITS
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// Whether `use` is an init (an `outs` operand) of a destination-passing op.
bool isInit(OpOperand &use) {
  auto op = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
  return op && op.isDpsInit(&use);
}

/// Clones `fill` and its `tensor.empty` right before each op that uses it
/// as an init; the original goes once nothing else uses it.
void privatise(linalg::FillOp fill) {
  auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
  if (!empty || !empty.getDynamicSizes().empty())
    return;
  for (OpOperand &use :
       llvm::make_early_inc_range(fill.getResult(0).getUses())) {
    if (!isInit(use))
      continue;
    OpBuilder b(use.getOwner());
    Operation *emptyCopy = b.clone(*empty);
    IRMapping mapping;
    mapping.map(empty.getResult(), emptyCopy->getResult(0));
    use.set(b.clone(*fill, mapping)->getResult(0));
  }
  if (fill->use_empty())
    fill->erase();
  if (empty->use_empty())
    empty->erase();
}

struct PrivateFillInitsPass
    : mstream::impl::PrivateFillInitsBase<PrivateFillInitsPass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills)
      privatise(fill);
  }
};

} // namespace
