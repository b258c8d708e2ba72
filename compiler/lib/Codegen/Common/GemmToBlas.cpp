//===- GemmToBlas.cpp - the mstream-gemm-to-blas pass ---------------------===//
//
// Libraries for GEMM, generated code for the glue.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCalls.h"
#include "mstream/Codegen/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mstream {
#define GEN_PASS_DEF_GEMMTOBLAS
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

constexpr unsigned kGemmArgs = 16;

/// How one operand of a (batched) matmul is read: transposed or not, in the
/// trailing two axes after `batch` leading ones.
std::optional<bool> isTransposed(AffineMap map, unsigned batch, unsigned row,
                                 unsigned column) {
  if (map.getNumResults() != batch + 2)
    return std::nullopt;
  for (unsigned i = 0; i < batch; ++i)
    if (map.getResult(i) != getAffineDimExpr(i, map.getContext()))
      return std::nullopt;
  AffineExpr first = map.getResult(batch), second = map.getResult(batch + 1);
  MLIRContext *ctx = map.getContext();
  if (first == getAffineDimExpr(row, ctx) &&
      second == getAffineDimExpr(column, ctx))
    return false;
  if (first == getAffineDimExpr(column, ctx) &&
      second == getAffineDimExpr(row, ctx))
    return true;
  return std::nullopt;
}

/// The zero fill of `c` right before `op`, which the call can replace by
/// overwriting C instead of accumulating into it.
linalg::FillOp zeroFillBefore(Operation *op, Value c) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || !fill.hasPureBufferSemantics() || fill.getOutputs()[0] != c ||
      !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return nullptr;
  return fill;
}

LogicalResult rewriteGemm(linalg::LinalgOp op, unsigned batch, StringRef symbol,
                          StringRef bf16Symbol, bool inTokenLoops,
                          PatternRewriter &rewriter) {
  if (!op.hasPureBufferSemantics())
    return rewriter.notifyMatchFailure(op, "not bufferized");
  if (!inTokenLoops && op->getParentOfType<scf::ForallOp>())
    return rewriter.notifyMatchFailure(op, "inside a token loop");
  Value a = op.getDpsInputs()[0], bMat = op.getDpsInputs()[1],
        c = op.getDpsInits()[0];
  // f32 x f32 -> f32, or bf16 x bf16 -> f32 (mstream-apply-precision).
  Type f32 = rewriter.getF32Type();
  Type operands = getElementTypeOrSelf(a.getType());
  if (!mstream::hasUnitInnerStride(c, f32) ||
      !(operands.isF32() || operands.isBF16()) ||
      !mstream::hasUnitInnerStride(a, operands) ||
      !mstream::hasUnitInnerStride(bMat, operands))
    return rewriter.notifyMatchFailure(op, "operand BLAS cannot read");
  StringRef callee = operands.isBF16() ? bf16Symbol : symbol;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned m = batch, n = batch + 1, k = batch + 2;
  std::optional<bool> transA = isTransposed(maps[0], batch, m, k);
  std::optional<bool> transB = isTransposed(maps[1], batch, k, n);
  std::optional<bool> transC = isTransposed(maps[2], batch, m, n);
  if (!transA || !transB || !transC || *transC)
    return rewriter.notifyMatchFailure(op, "unsupported operand maps");

  // Before any op is created in front of the product.
  linalg::FillOp fill = zeroFillBefore(op, c);
  Location loc = op.getLoc();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  auto cType = cast<MemRefType>(c.getType());
  auto aType = cast<MemRefType>(a.getType());
  mstream::RuntimeOperand lhs =
      mstream::describeOperand(rewriter, loc, a, batch);
  mstream::RuntimeOperand rhs =
      mstream::describeOperand(rewriter, loc, bMat, batch);
  mstream::RuntimeOperand out =
      mstream::describeOperand(rewriter, loc, c, batch);
  SmallVector<Value> args = {
      index(batch ? cType.getDimSize(0) : 1),
      index(*transA),
      index(*transB),
      memref::DimOp::create(rewriter, loc, c, batch),
      memref::DimOp::create(rewriter, loc, c, batch + 1),
      index(aType.getDimSize(*transA ? batch : batch + 1)),
      lhs.address,
      lhs.leading,
      lhs.batchStride,
      rhs.address,
      rhs.leading,
      rhs.batchStride,
      out.address,
      out.leading,
      out.batchStride,
      index(fill ? 0 : 1)};
  auto module = op->getParentOfType<ModuleOp>();
  SmallVector<Type> inputs(kGemmArgs, rewriter.getIndexType());
  func::CallOp::create(
      rewriter, loc,
      mstream::getOrDeclareFunction(module, rewriter, callee,
                                    rewriter.getFunctionType(inputs, {})),
      args);
  rewriter.eraseOp(op);
  if (fill)
    rewriter.eraseOp(fill);
  return success();
}

/// `OpTy` with `Batch` leading batch axes, to a call of `symbol`.
template <typename OpTy, unsigned Batch>
struct GemmToCall : OpRewritePattern<OpTy> {
  GemmToCall(MLIRContext *context, StringRef symbol, StringRef bf16Symbol,
             bool inTokenLoops)
      : OpRewritePattern<OpTy>(context), symbol(symbol), bf16Symbol(bf16Symbol),
        inTokenLoops(inTokenLoops) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    return rewriteGemm(op, Batch, symbol, bf16Symbol, inTokenLoops, rewriter);
  }
  std::string symbol, bf16Symbol;
  bool inTokenLoops;
};

struct GemmToBlasPass : mstream::impl::GemmToBlasBase<GemmToBlasPass> {
  using GemmToBlasBase::GemmToBlasBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GemmToCall<linalg::MatmulOp, 0>,
                 GemmToCall<linalg::BatchMatmulOp, 1>>(
        &getContext(), symbol, bf16Symbol, inTokenLoops);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
