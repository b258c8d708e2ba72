//===- FusionRegions.cpp - building mstream.fused regions -----------------===//

#include "FusionRegions.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mstream;

ArrayRef<int64_t> mstream::streamTokens(Value stream) {
  return cast<RankedTensorType>(stream.getType()).getShape().take_front(2);
}

std::string mstream::regionName(Operation *anchor) {
  if (auto name = dyn_cast<NameLoc>(anchor->getLoc()))
    return name.getName().str();
  return anchor->getName().stripDialect().str();
}

FailureOr<FusedOp> mstream::fuseIntoRegion(ArrayRef<Operation *> group,
                                           StringRef name,
                                           ArrayRef<int64_t> tokens) {
  llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
  Operation *last = group.back();
  llvm::SetVector<Value> inputs;
  SmallVector<Value> outputs;
  for (Operation *op : group) {
    for (Value operand : op->getOperands())
      if (!members.contains(operand.getDefiningOp()))
        inputs.insert(operand);
    for (Value result : op->getResults()) {
      bool escapes = false;
      for (Operation *user : result.getUsers()) {
        if (members.contains(user))
          continue;
        // The region replaces the group after its last op.
        if (user->getBlock() == last->getBlock() && user->isBeforeInBlock(last))
          return failure();
        escapes = true;
      }
      if (escapes)
        outputs.push_back(result);
    }
  }

  OpBuilder b(last->getContext());
  b.setInsertionPointAfter(last);
  Location loc = group.front()->getLoc();
  auto fused = FusedOp::create(b, loc, ValueRange(outputs).getTypes(), name,
                               tokens, inputs.getArrayRef());
  Block *body = b.createBlock(&fused.getBody());
  IRMapping map;
  for (Value input : inputs)
    map.map(input, body->addArgument(
                       FusedOp::getTokenSliceType(input.getType(), tokens),
                       input.getLoc()));
  for (Operation *op : group) {
    if (auto inner = dyn_cast<FusedOp>(op)) {
      Block &innerBody = inner.getBody().front();
      for (auto [arg, input] :
           llvm::zip_equal(innerBody.getArguments(), inner.getInputs()))
        map.map(arg, map.lookup(input));
      for (Operation &nested : innerBody.without_terminator())
        b.clone(nested, map);
      for (auto [result, yielded] :
           llvm::zip_equal(inner.getResults(), inner.getYield().getValues()))
        map.map(result, map.lookup(yielded));
      continue;
    }
    Operation *copy = b.clone(*op, map);
    for (Value result : copy->getResults())
      result.setType(FusedOp::getTokenSliceType(result.getType(), tokens));
  }
  SmallVector<Value> yielded;
  for (Value output : outputs)
    yielded.push_back(map.lookup(output));
  YieldOp::create(b, loc, yielded);

  for (auto [output, result] : llvm::zip_equal(outputs, fused.getResults()))
    output.replaceAllUsesWith(result);
  for (Operation *op : llvm::reverse(group))
    op->erase();
  return fused;
}
