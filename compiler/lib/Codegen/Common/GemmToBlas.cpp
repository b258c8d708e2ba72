//===- GemmToBlas.cpp - the mstream-gemm-to-blas pass ---------------------===//
//
// Libraries for GEMM, generated code for the glue.
//
//===----------------------------------------------------------------------===//

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

/// A memref the BLAS can read: `element`s with unit inner stride.
bool isBlasCompatible(Value value, Type element) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getElementType() != element)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

func::FuncOp getOrDeclareGemm(ModuleOp module, OpBuilder &b, StringRef symbol) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(symbol))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  SmallVector<Type> inputs(kGemmArgs, b.getIndexType());
  auto gemm = func::FuncOp::create(b, module.getLoc(), symbol,
                                   b.getFunctionType(inputs, {}));
  gemm.setPrivate();
  return gemm;
}

/// The operand's byte address, leading dimension and batch stride.
struct Operand {
  Value address, leading, batchStride;
};

Operand describe(OpBuilder &b, Location loc, Value memref, unsigned batch) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  Value bytes = arith::ConstantIndexOp::create(
      b, loc, element.getIntOrFloatBitWidth() / 8);
  Value offset = arith::MulIOp::create(b, loc, meta.getOffset(), bytes);
  Operand operand;
  operand.address = arith::AddIOp::create(b, loc, base, offset);
  operand.leading = meta.getStrides()[batch];
  operand.batchStride = batch
                            ? Value(meta.getStrides()[0])
                            : Value(arith::ConstantIndexOp::create(b, loc, 0));
  return operand;
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
  if (!isBlasCompatible(c, f32) || !(operands.isF32() || operands.isBF16()) ||
      !isBlasCompatible(a, operands) || !isBlasCompatible(bMat, operands))
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
  Operand lhs = describe(rewriter, loc, a, batch);
  Operand rhs = describe(rewriter, loc, bMat, batch);
  Operand out = describe(rewriter, loc, c, batch);
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
  func::CallOp::create(rewriter, loc,
                       getOrDeclareGemm(module, rewriter, callee), args);
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
