//===- VjpFusedOp.cpp - the vector-Jacobian product of a fused region -----===//
//
// The backward of a fused region is a fused region too: one token's forward
// math rebuilt from the region's inputs (rematerialised, never stored),
// then the reverse sweep over it. Cotangents of per-token inputs come out
// per token; those of shared inputs (raw scalars, LayerNorm gains) are the
// token sums the region's semantics define.
//
//===----------------------------------------------------------------------===//

#include "ReverseMode.h"

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mstream;

namespace {

struct FusedVjp : VjpOpInterface::ExternalModel<FusedVjp, FusedOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<FusedOp>(raw);
    Location loc = op.getLoc();
    Block &forward = op.getBody().front();
    ValueRange yielded = op.getYield().getValues();

    // Inputs: the forward inputs, then the cotangents that reach.
    SmallVector<Value> inputs(op.getInputs());
    SmallVector<unsigned> reached;
    for (auto [i, cotangent] : llvm::enumerate(cotangents))
      if (cotangent) {
        inputs.push_back(cotangent);
        reached.push_back(i);
      }

    OpBuilder::InsertPoint outside = b.saveInsertionPoint();
    auto body = std::make_unique<Block>();
    IRMapping map;
    for (BlockArgument arg : forward.getArguments())
      map.map(arg, body->addArgument(arg.getType(), arg.getLoc()));
    b.setInsertionPointToEnd(body.get());
    SmallVector<Operation *> rebuilt;
    for (Operation &nested : forward.without_terminator())
      rebuilt.push_back(b.clone(nested, map));

    llvm::DenseMap<Value, Value> seeds;
    for (unsigned i : reached) {
      Value seed = body->addArgument(yielded[i].getType(), loc);
      Value &slot = seeds[map.lookupOrDefault(yielded[i])];
      if (slot)
        return op.emitOpError("yields one value twice; canonicalize first");
      slot = seed;
    }
    if (failed(propagateCotangents(b, rebuilt, seeds)))
      return failure();

    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    SmallVector<int> resultOf(forward.getNumArguments(), -1);
    for (auto [i, arg] : llvm::enumerate(forward.getArguments())) {
      Value cotangent = seeds.lookup(map.lookup(arg));
      if (!cotangent)
        continue;
      resultOf[i] = results.size();
      results.push_back(cotangent);
      resultTypes.push_back(op.getInputs()[i].getType());
    }
    YieldOp::create(b, loc, results);
    // The rebuilt forward values no VJP read.
    for (Operation *copy : llvm::reverse(rebuilt))
      if (copy->use_empty() && isMemoryEffectFree(copy))
        copy->erase();

    b.restoreInsertionPoint(outside);
    auto backward =
        FusedOp::create(b, loc, resultTypes, (op.getName() + ".grad").str(),
                        op.getTokens(), inputs);
    backward.getBody().push_back(body.release());
    for (int index : resultOf)
      out.push_back(index < 0 ? Value() : backward.getResult(index));
    return success();
  }
};

} // namespace

void mstream::registerFusedVjpInterface(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    FusedOp::attachInterface<FusedVjp>(*ctx);
  });
}
