//===- Autodiff.cpp - the mstream-autodiff pass ---------------------------===//

#include "ReverseMode.h"
#include "mstream/Dialect/AttrNames.h"
#include "mstream/Utils/LinalgBuilders.h"

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mstream {
#define GEN_PASS_DEF_AUTODIFF
#include "mstream/Transforms/Autodiff/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using namespace mstream::lowering;

namespace {

struct AutodiffPass : mstream::impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    if (failed(differentiate()))
      signalPassFailure();
  }

  LogicalResult differentiate() {
    ModuleOp module = getOperation();
    auto loss = module.lookupSymbol<func::FuncOp>("loss");
    if (!loss)
      return module.emitError("mstream-autodiff: the module has no 'loss' "
                              "function to differentiate");
    if (module.lookupSymbol(mstream::kLossAndGradsName))
      return module.emitError("mstream-autodiff: '")
             << mstream::kLossAndGradsName << "' exists already";
    if (!loss.getBody().hasOneBlock() || loss.getNumResults() != 1)
      return loss.emitError("mstream-autodiff: 'loss' must be one block "
                            "returning one value");
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(loss);
    auto grads = cast<func::FuncOp>(b.clone(*loss));
    grads.setSymName(mstream::kLossAndGradsName);
    Block &body = grads.front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value lossValue = ret.getOperand(0);

    llvm::DenseMap<Value, Value> cotangents;
    b.setInsertionPoint(ret);
    cotangents[lossValue] = filled(
        b, ret.getLoc(), cast<RankedTensorType>(lossValue.getType()), 1.0);
    SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);
    if (failed(mstream::propagateCotangents(b, forward, cotangents)))
      return failure();

    // Results: the loss, then d loss / d param for every parameter.
    SmallVector<Value> results = {lossValue};
    SmallVector<Attribute> resultAttrs = {loss.getResultAttrDict(0)
                                              ? loss.getResultAttrDict(0)
                                              : b.getDictionaryAttr({})};
    for (BlockArgument arg : body.getArguments()) {
      auto name = grads.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                     mstream::kParamAttrName);
      if (!name)
        continue;
      Value gradient = cotangents.lookup(arg);
      results.push_back(gradient ? gradient
                                 : filled(b, ret.getLoc(),
                                          cast<RankedTensorType>(arg.getType()),
                                          0.0));
      resultAttrs.push_back(
          b.getDictionaryAttr(b.getNamedAttr(mstream::kGradAttrName, name)));
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    grads.setFunctionType(b.getFunctionType(grads.getArgumentTypes(),
                                            ValueRange(results).getTypes()));
    grads.setAllResultAttrs(resultAttrs);
    return success();
  }
};

} // namespace
