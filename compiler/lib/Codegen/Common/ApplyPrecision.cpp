//===- ApplyPrecision.cpp - the mstream-apply-precision pass --------------===//
//
// The policy lives in one place: the lowering marks which products are the
// oracles' (LinalgBuilders' buildOracle*), this pass decides what a mark
// means under each precision.
//
// Each value is rounded once, and a rounding whose operand is computed by an
// elementwise generic used nowhere else is fused into it (upstream's
// elementwise fusion): the producer then writes the bf16 copy directly, and
// the f32 tensor never exists. That is how the logit gradient, GELU's output
// and the like reach the products without an f32 round trip through memory.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/Common/Passes.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"

namespace mstream {
#define GEN_PASS_DEF_APPLYPRECISION
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// `value` (an f32 tensor) rounded to bf16, element by element.
Value roundToBf16(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto bf16Type = type.clone(b.getBF16Type());
  Value init = tensor::EmptyOp::create(b, loc, bf16Type, ValueRange{});
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{bf16Type}, ValueRange{value}, ValueRange{init},
             ArrayRef<AffineMap>{identity, identity}, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               Value rounded = arith::TruncFOp::create(
                   nested, nestedLoc, nested.getBF16Type(), args[0]);
               linalg::YieldOp::create(nested, nestedLoc, rounded);
             })
      .getResult(0);
}

/// One rounding per value, shared by every product it dominates.
class Roundings {
public:
  explicit Roundings(Operation *root) : dominance(root) {}

  Value get(OpBuilder &b, Operation *product, Value value) {
    for (linalg::GenericOp rounding : made[value])
      if (dominance.properlyDominates(rounding.getOperation(), product))
        return rounding.getResult(0);
    Value rounded = roundToBf16(b, product->getLoc(), value);
    made[value].push_back(rounded.getDefiningOp<linalg::GenericOp>());
    return rounded;
  }

  /// Fuses each rounding into its operand's producer where that is an
  /// elementwise generic whose only user the rounding is.
  void fuseIntoProducers(MLIRContext *context) {
    IRRewriter rewriter(context);
    for (auto &entry : made) {
      auto producer = entry.first.getDefiningOp<linalg::GenericOp>();
      if (!producer || producer->getNumResults() != 1 ||
          !entry.first.hasOneUse() || entry.second.size() != 1)
        continue;
      linalg::GenericOp rounding = entry.second.front();
      OpOperand *operand = rounding.getDpsInputOperand(0);
      if (!linalg::areElementwiseOpsFusable(operand))
        continue;
      rewriter.setInsertionPoint(rounding);
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, operand);
      if (failed(fused))
        continue;
      rewriter.replaceOp(rounding,
                         fused->replacements.lookup(rounding.getResult(0)));
      rewriter.eraseOp(producer);
    }
  }

private:
  DominanceInfo dominance;
  llvm::MapVector<Value, SmallVector<linalg::GenericOp, 1>> made;
};

/// The same product with its operands rounded to bf16.
template <typename OpTy> void toBf16(OpTy op, Roundings &roundings) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value lhs = roundings.get(b, op, op.getDpsInputs()[0]);
  Value rhs = roundings.get(b, op, op.getDpsInputs()[1]);
  // The builder makes the body for the new operand types (extf to f32).
  auto product = OpTy::create(
      b, loc, op->getResultTypes(), ValueRange{lhs, rhs}, op.getDpsInits(),
      {b.getNamedAttr("indexing_maps", op.getIndexingMaps()),
       b.getNamedAttr(mstream::kOracleProductAttrName, b.getUnitAttr())});
  op->replaceAllUsesWith(product);
  op->erase();
}

bool isF32Oracle(linalg::LinalgOp op) {
  if (!op->hasAttr(mstream::kOracleProductAttrName) ||
      !op.hasPureTensorSemantics())
    return false;
  return llvm::all_of(op->getOperandTypes(), [](Type type) {
    return getElementTypeOrSelf(type).isF32();
  });
}

struct ApplyPrecisionPass
    : mstream::impl::ApplyPrecisionBase<ApplyPrecisionPass> {
  using ApplyPrecisionBase::ApplyPrecisionBase;
  void runOnOperation() override {
    if (precision == "fp32")
      return;
    if (precision != "bf16") {
      getOperation().emitError()
          << "mstream-apply-precision: unknown precision '" << precision
          << "' (expected fp32 or bf16)";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> products;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) && isF32Oracle(op))
        products.push_back(op);
    });
    Roundings roundings(getOperation());
    // Attention's products run in bf16 too: its inputs (and the cotangent
    // of its output) are rounded, its outputs and lse stay f32.
    SmallVector<std::pair<Operation *, SmallVector<unsigned>>> attention;
    getOperation().walk([&](Operation *op) {
      if (isa<mstream::FlashAttentionOp>(op))
        attention.push_back({op, {0, 1, 2}});
      else if (isa<mstream::FlashAttentionGradOp>(op))
        attention.push_back({op, {0, 1, 2, 4}});
    });
    for (auto &[op, inputs] : attention) {
      if (!getElementTypeOrSelf(op->getOperand(0).getType()).isF32())
        continue;
      OpBuilder b(op);
      for (unsigned input : inputs)
        op->setOperand(input, roundings.get(b, op, op->getOperand(input)));
    }
    for (linalg::LinalgOp op : products) {
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
        toBf16(matmul, roundings);
      else
        toBf16(cast<linalg::BatchMatmulOp>(op.getOperation()), roundings);
    }
    roundings.fuseIntoProducers(&getContext());
  }
};

} // namespace
