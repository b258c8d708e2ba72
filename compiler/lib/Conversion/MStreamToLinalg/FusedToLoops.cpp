//===- FusedToLoops.cpp - the mstream-fused-to-loops pass -----------------===//
//
// A fused region becomes a loop over tokens whose body is the region's: the
// token's slices of the per-token inputs in, its results inserted into the
// per-token results. A token-sum result is inserted too, as the token's row
// of a [tokens, ...] partial that is summed after the loop in token order,
// so that no iteration reads what another writes: the loop is an
// `scf.forall`, which bufferization keeps free of shared scratch buffers,
// and the CPU backend runs its tokens in parallel.
// Everything the body computes in between is a token's worth of data (a
// few KiB), so it stays in cache; the lowering of the body's mstream ops
// runs afterwards, on those token-sized tensors.
//
//===----------------------------------------------------------------------===//

#include "mstream/Utils/LinalgBuilders.h"

#include "mstream/Conversion/MStreamToLinalg/Passes.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace mstream {
#define GEN_PASS_DEF_FUSEDTOLOOPS
#include "mstream/Conversion/MStreamToLinalg/Passes.h.inc"
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

TokenSlice tokenSlice(OpBuilder &b, ValueRange position,
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

  // Per-token results as they are; token sums as [count, shape...].
  SmallVector<Value> inits;
  for (auto [i, result] : llvm::enumerate(op.getResults())) {
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<int64_t> shape(type.getShape());
    if (!op.isPerTokenResult(i))
      shape.insert(shape.begin(), count);
    inits.push_back(
        tensor::EmptyOp::create(b, loc, shape, type.getElementType()));
  }
  auto loop = scf::ForallOp::create(b, loc, {b.getIndexAttr(count)}, inits,
                                    /*mapping=*/std::nullopt);
  Block *loopBody = loop.getBody();
  Value flat = loopBody->getArgument(0);
  ValueRange outs = loopBody->getArguments().drop_front();
  OpBuilder nb = OpBuilder::atBlockBegin(loopBody);
  SmallVector<Value> position = delinearize(nb, loc, flat, op.getTokens());
  Block &body = op.getBody().front();
  IRMapping map;
  for (auto [i, input] : llvm::enumerate(op.getInputs())) {
    Value seen = input;
    if (op.isPerTokenInput(i)) {
      auto type = cast<RankedTensorType>(input.getType());
      TokenSlice s = tokenSlice(nb, position, type);
      seen = tensor::ExtractSliceOp::create(
          nb, loc, cast<RankedTensorType>(body.getArgument(i).getType()), input,
          s.offsets, s.sizes, s.strides);
    }
    map.map(body.getArgument(i), seen);
  }
  for (Operation &nested : body.without_terminator())
    nb.clone(nested, map);
  // Each token writes its own slices: per-token results at its position,
  // token sums at its row of the partial.
  SmallVector<TokenSlice> slices;
  for (auto [i, into] : llvm::enumerate(outs)) {
    auto type = cast<RankedTensorType>(into.getType());
    slices.push_back(op.isPerTokenResult(i)
                         ? tokenSlice(nb, position, type)
                         : tokenSlice(nb, ValueRange{flat}, type));
  }
  nb.setInsertionPointToStart(loop.getTerminator().getBody());
  for (auto [i, yielded] : llvm::enumerate(op.getYield().getValues()))
    tensor::ParallelInsertSliceOp::create(nb, loc, map.lookup(yielded), outs[i],
                                          slices[i].offsets, slices[i].sizes,
                                          slices[i].strides);

  SmallVector<Value> results;
  for (auto [i, result] : llvm::enumerate(loop.getResults())) {
    if (op.isPerTokenResult(i)) {
      results.push_back(result);
      continue;
    }
    auto type = cast<RankedTensorType>(op.getResult(i).getType());
    auto sum = linalg::ReduceOp::create(
        b, loc, ValueRange{result}, ValueRange{filled(b, loc, type, 0.0)},
        ArrayRef<int64_t>{0}, [](OpBuilder &rb, Location rl, ValueRange args) {
          // acc + token, in token order: the sequential loop's rounding.
          Value next = arith::AddFOp::create(rb, rl, args[1], args[0]);
          linalg::YieldOp::create(rb, rl, next);
        });
    results.push_back(sum.getResult(0));
  }
  op.replaceAllUsesWith(results);
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
