//===- ReverseMode.cpp - the reverse sweep of autodiff --------------------===//

#include "ReverseMode.h"

#include "mstream/Utils/LinalgBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mstream::lowering;

static Value add(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return buildElementwise(
      b, loc, ValueRange{lhs, rhs},
      [](OpBuilder &nb, Location l, ValueRange a) {
        return arith::AddFOp::create(nb, l, a[0], a[1]).getResult();
      });
}

LogicalResult
mstream::propagateCotangents(OpBuilder &b, ArrayRef<Operation *> ops,
                             llvm::DenseMap<Value, Value> &cotangents) {
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultCotangents;
    bool reached = false;
    for (Value result : op->getResults()) {
      resultCotangents.push_back(cotangents.lookup(result));
      reached |= bool(resultCotangents.back());
    }
    // Leaves (constants) have nothing to propagate to.
    if (!reached || op->getNumOperands() == 0)
      continue;
    if (isa<func::CallOp>(op))
      return op->emitError("mstream-autodiff: inline calls first (--inline)");
    auto vjp = dyn_cast<VjpOpInterface>(op);
    if (!vjp)
      return op->emitOpError("has no vector-Jacobian product, so "
                             "mstream-autodiff cannot differentiate it");
    SmallVector<Value> operandCotangents;
    if (failed(vjp.buildVjp(b, resultCotangents, operandCotangents)))
      return failure();
    for (auto [operand, cotangent] :
         llvm::zip_equal(op->getOperands(), operandCotangents)) {
      if (!cotangent)
        continue;
      Value &slot = cotangents[operand];
      slot = slot ? add(b, op->getLoc(), slot, cotangent) : cotangent;
    }
  }
  return success();
}
