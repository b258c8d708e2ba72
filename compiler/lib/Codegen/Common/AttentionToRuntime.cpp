//===- AttentionToRuntime.cpp - the mstream-attention-to-runtime pass -----===//
//
// The CPU backend's flash attention is a runtime kernel, like its GEMMs: a
// blocked online softmax around BLAS tile products (FlashAttention.cpp in
// the runtime), which generated loops would not match on the CPU.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCalls.h"
#include "mstream/Codegen/Common/Passes.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mstream {
#define GEN_PASS_DEF_ATTENTIONTORUNTIME
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// Replaces `op` (on buffers) by a call of `symbol` with its shape, scale
/// and every operand as RuntimeCalls describes them.
LogicalResult toCall(Operation *op, StringRef symbol, OpBuilder &b) {
  auto q = cast<MemRefType>(op->getOperand(0).getType());
  Type inputs = q.getElementType();
  for (Value operand : op->getOperands()) {
    auto type = cast<MemRefType>(operand.getType());
    if (!mstream::hasUnitInnerStride(operand, type.getElementType()))
      return op->emitOpError()
             << "operand of type " << type
             << " has no unit inner stride: the runtime's flash kernels read "
                "whole rows";
  }
  b.setInsertionPoint(op);
  Location loc = op->getLoc();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  SmallVector<Value> args = {
      index(inputs.isBF16()),
      memref::DimOp::create(b, loc, op->getOperand(0), 0),
      memref::DimOp::create(b, loc, op->getOperand(0), 1),
      memref::DimOp::create(b, loc, op->getOperand(0), 2),
      arith::ConstantOp::create(
          b, loc,
          b.getF64FloatAttr(
              op->getAttrOfType<FloatAttr>("scale").getValueAsDouble()))};
  for (Value operand : op->getOperands()) {
    mstream::RuntimeOperand described =
        mstream::describeOperand(b, loc, operand, /*batch=*/1);
    args.append({described.address, described.leading, described.batchStride});
  }
  SmallVector<Type> types(args.size(), b.getIndexType());
  types[4] = b.getF64Type();
  auto module = op->getParentOfType<ModuleOp>();
  func::CallOp::create(b, loc,
                       mstream::getOrDeclareFunction(
                           module, b, symbol, b.getFunctionType(types, {})),
                       args);
  op->erase();
  return success();
}

struct AttentionToRuntimePass
    : mstream::impl::AttentionToRuntimeBase<AttentionToRuntimePass> {
  using AttentionToRuntimeBase::AttentionToRuntimeBase;
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<mstream::FlashAttentionOp, mstream::FlashAttentionGradOp>(op))
        ops.push_back(op);
    });
    OpBuilder b(&getContext());
    for (Operation *op : ops) {
      if (op->getNumResults() != 0) {
        op->emitOpError("is still on tensors: mstream-attention-to-runtime "
                        "runs after bufferization");
        return signalPassFailure();
      }
      if (failed(toCall(
              op, isa<mstream::FlashAttentionOp>(op) ? symbol : gradSymbol, b)))
        return signalPassFailure();
    }
  }
};

} // namespace
