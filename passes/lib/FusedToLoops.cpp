//===- FusedToLoops.cpp - the mstream-fused-to-loops pass -----------------===//
//
// A fused region becomes a loop over tokens whose body is the region's: the
// token's slices of the per-token inputs in, its results inserted into the
// per-token results, and the token sums accumulated. Everything the body
// computes in between is a token's worth of data (a few KiB), so it stays in
// cache; the lowering of the body's mstream ops runs afterwards, on those
// token-sized tensors.
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace mstream {
#define GEN_PASS_DEF_FUSEDTOLOOPS
#include "mstream/Passes/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

/// Offsets, sizes and unit strides of the token at `position` (one index per
/// token dimension) in a value of `type`.
struct TokenSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};

TokenSlice tokenSlice(OpBuilder &b, ArrayRef<Value> position,
                      RankedTensorType type) {
  TokenSlice slice;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    bool token = i < static_cast<int64_t>(position.size());
    slice.offsets.push_back(token ? OpFoldResult(position[i])
                                  : OpFoldResult(b.getIndexAttr(0)));
    slice.sizes.push_back(b.getIndexAttr(token ? 1 : type.getDimSize(i)));
    slice.strides.push_back(b.getIndexAttr(1));
  }
  return slice;
}

/// The token position of flat index `flat`, row-major over `tokens`.
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value flat,
                               ArrayRef<int64_t> tokens) {
  SmallVector<Value> position(tokens.size());
  Value rest = flat;
  for (int64_t i = tokens.size() - 1; i >= 0; --i) {
    if (i == 0) {
      position[i] = rest;
      break;
    }
    Value size = arith::ConstantIndexOp::create(b, loc, tokens[i]);
    position[i] = arith::RemUIOp::create(b, loc, rest, size);
    rest = arith::DivUIOp::create(b, loc, rest, size);
  }
  return position;
}

void lowerRegion(FusedOp op) {
  OpBuilder b(op);
  // Named after the region, so that its outlined kernel is too.
  Location loc = NameLoc::get(op.getNameAttr(), op.getLoc());
  int64_t count = 1;
  for (int64_t size : op.getTokens())
    count *= size;

  SmallVector<Value> inits;
  for (auto [i, result] : llvm::enumerate(op.getResults())) {
    auto type = cast<RankedTensorType>(result.getType());
    inits.push_back(op.isPerTokenResult(i)
                        ? tensor::EmptyOp::create(b, loc, type.getShape(),
                                                  type.getElementType())
                              .getResult()
                        : filled(b, loc, type, 0.0));
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, count);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, upper, one, inits,
      [&](OpBuilder &nb, Location l, Value flat, ValueRange carried) {
        SmallVector<Value> position = delinearize(nb, l, flat, op.getTokens());
        Block &body = op.getBody().front();
        IRMapping map;
        for (auto [i, input] : llvm::enumerate(op.getInputs())) {
          Value seen = input;
          if (op.isPerTokenInput(i)) {
            auto type = cast<RankedTensorType>(input.getType());
            TokenSlice s = tokenSlice(nb, position, type);
            seen = tensor::ExtractSliceOp::create(
                nb, l, cast<RankedTensorType>(body.getArgument(i).getType()),
                input, s.offsets, s.sizes, s.strides);
          }
          map.map(body.getArgument(i), seen);
        }
        for (Operation &nested : body.without_terminator())
          nb.clone(nested, map);
        SmallVector<Value> next;
        for (auto [i, yielded] : llvm::enumerate(op.getYield().getValues())) {
          Value value = map.lookup(yielded);
          Value into = carried[i];
          if (op.isPerTokenResult(i)) {
            auto type = cast<RankedTensorType>(into.getType());
            TokenSlice s = tokenSlice(nb, position, type);
            next.push_back(tensor::InsertSliceOp::create(
                nb, l, value, into, s.offsets, s.sizes, s.strides));
          } else {
            next.push_back(buildElementwise(
                nb, l, ValueRange{into, value},
                [](OpBuilder &eb, Location el, ValueRange a) {
                  return arith::AddFOp::create(eb, el, a[0], a[1]).getResult();
                }));
          }
        }
        scf::YieldOp::create(nb, l, next);
      });
  op.replaceAllUsesWith(loop.getResults());
  op.erase();
}

struct FusedToLoopsPass : mstream::impl::FusedToLoopsBase<FusedToLoopsPass> {
  void runOnOperation() override {
    SmallVector<FusedOp> regions;
    getOperation().walk([&](FusedOp op) { regions.push_back(op); });
    for (FusedOp op : regions)
      lowerRegion(op);
  }
};

} // namespace
