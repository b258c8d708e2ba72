//===- RuntimeCalls.cpp - buffers as the runtime's entries take them ------===//

#include "RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

mstream::RuntimeOperand mstream::describeOperand(OpBuilder &b, Location loc,
                                                 Value memref, unsigned batch) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  Value bytes = arith::ConstantIndexOp::create(
      b, loc, element.getIntOrFloatBitWidth() / 8);
  Value offset = arith::MulIOp::create(b, loc, meta.getOffset(), bytes);
  RuntimeOperand operand;
  operand.address = arith::AddIOp::create(b, loc, base, offset);
  operand.leading = meta.getStrides()[batch];
  operand.batchStride = batch
                            ? Value(meta.getStrides()[0])
                            : Value(arith::ConstantIndexOp::create(b, loc, 0));
  return operand;
}

bool mstream::hasUnitInnerStride(Value value, Type element) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getElementType() != element)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

func::FuncOp mstream::getOrDeclareFunction(ModuleOp module, OpBuilder &b,
                                           StringRef symbol,
                                           FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(symbol))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto function = func::FuncOp::create(b, module.getLoc(), symbol, type);
  function.setPrivate();
  return function;
}
