//===- LowerOptimizerOps.cpp - weight optimizers to linalg ----------------===//
//
// Each parameter's update is one elementwise generic that reads the weight,
// its gradient and its optimizer state once and writes the new ones once.
// Muon's orthogonalisation runs on whole matrices through BLAS GEMMs, in the
// matrix's short orientation as PyTorch does, and on a rectangular matrix
// with every iteration on the short side's Gram (gramSpaceNewtonSchulz).
//
//===----------------------------------------------------------------------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"
#include "mstream/Utils/MatrixBuilders.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

Value f32(OpBuilder &b, Location loc, double value) {
  return constant(b, loc, b.getF32Type(), value);
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}
Value div(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}

/// PyTorch's lerp: `start + weight (end - start)`.
Value lerp(OpBuilder &b, Location loc, Value start, Value end, Value weight) {
  return add(b, loc, start, mul(b, loc, weight, sub(b, loc, end, start)));
}

/// PyTorch's decoupled weight decay factor `1 - lr * wd`.
Value decayFactor(OpBuilder &b, Location loc, Value lr, FloatAttr decay) {
  return sub(b, loc, f32(b, loc, 1.0),
             mul(b, loc, lr, f32(b, loc, decay.getValueAsDouble())));
}

struct LowerClipByGlobalNorm : OpRewritePattern<ClipByGlobalNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ClipByGlobalNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value sum = f32(rewriter, loc, 0.0);
    for (Value grad : op.getGrads()) {
      int64_t rank = cast<RankedTensorType>(grad.getType()).getRank();
      Value squares = buildTrailingReduction(
          rewriter, loc, rank, rank, grad,
          rewriter.getMultiDimIdentityMap(rank), 0.0,
          [](OpBuilder &b, Location l, ValueRange a) {
            return add(b, l, a[1], mul(b, l, a[0], a[0]));
          });
      sum = add(rewriter, loc, sum, extractScalar(rewriter, loc, squares));
    }
    Value norm = math::SqrtOp::create(rewriter, loc, sum);
    double maxNorm = op.getMaxNorm().convertToDouble();
    Value scale = f32(rewriter, loc, 1.0);
    if (maxNorm > 0) {
      Value ratio = div(rewriter, loc, f32(rewriter, loc, maxNorm),
                        add(rewriter, loc, norm, f32(rewriter, loc, 1e-6)));
      scale = arith::MinimumFOp::create(rewriter, loc, ratio, scale);
    }
    auto scalar = RankedTensorType::get({}, rewriter.getF32Type());
    rewriter.replaceOp(
        op, {tensor::FromElementsOp::create(rewriter, loc, scalar, norm),
             tensor::FromElementsOp::create(rewriter, loc, scalar, scale)});
    return success();
  }
};

struct LowerAdamWUpdate : OpRewritePattern<AdamWUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamWUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    double beta1 = op.getBeta1().convertToDouble();
    double beta2 = op.getBeta2().convertToDouble();
    Value lr = extractScalar(b, loc, op.getLr());
    Value step = extractScalar(b, loc, op.getStep());
    Value scale = extractScalar(b, loc, op.getScale());
    Value one = f32(b, loc, 1.0);
    auto correction = [&](double beta) {
      return sub(b, loc, one,
                 math::PowFOp::create(b, loc, f32(b, loc, beta), step));
    };
    Value stepSize = div(b, loc, lr, correction(beta1));
    Value rootCorrection2 = math::SqrtOp::create(b, loc, correction(beta2));
    Value decay = decayFactor(b, loc, lr, op.getWeightDecayAttr());
    Value oneMinusBeta1 = f32(b, loc, 1.0 - beta1);
    Value beta2V = f32(b, loc, beta2);
    Value oneMinusBeta2 = f32(b, loc, 1.0 - beta2);
    Value eps = f32(b, loc, op.getEps().convertToDouble());

    SmallVector<Value> params, ms, vs;
    for (auto [p, g, m, v] :
         llvm::zip_equal(op.getParams(), op.getGrads(), op.getM(), op.getV())) {
      SmallVector<Value> updated = buildElementwiseResults(
          b, loc, ValueRange{p, g, m, v}, 3,
          [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
            Value grad = mul(nb, l, a[1], scale);
            Value mNew = lerp(nb, l, a[2], grad, oneMinusBeta1);
            Value vNew = add(nb, l, mul(nb, l, beta2V, a[3]),
                             mul(nb, l, oneMinusBeta2, mul(nb, l, grad, grad)));
            Value denom = add(
                nb, l,
                div(nb, l, math::SqrtOp::create(nb, l, vNew), rootCorrection2),
                eps);
            Value pNew = sub(nb, l, mul(nb, l, a[0], decay),
                             mul(nb, l, stepSize, div(nb, l, mNew, denom)));
            return {pNew, mNew, vNew};
          });
      params.push_back(updated[0]);
      ms.push_back(updated[1]);
      vs.push_back(updated[2]);
    }
    SmallVector<Value> results(params);
    results.append(ms);
    results.append(vs);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerMuonUpdate : OpRewritePattern<MuonUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MuonUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    double momentum = op.getMomentum().convertToDouble();
    Value momentumV = f32(b, loc, momentum);
    Value oneMinusMomentum = f32(b, loc, 1.0 - momentum);
    bool nesterov = op.getNesterov();
    Value lr = extractScalar(b, loc, op.getLr());
    Value scale = extractScalar(b, loc, op.getScale());
    Value decay = decayFactor(b, loc, lr, op.getWeightDecayAttr());

    // Matrices of one shape are orthogonalised as one stack [k, m, n]: one
    // batched GEMM per product and one elementwise loop per step for all
    // of them. The group runs phase by phase, so each phase's elementwise
    // loops are neighbours, which a GPU backend launches as one kernel
    // (mstream-merge-parallel-loops).
    struct Stack {
      RankedTensorType type;
      int64_t size = 0;
      Value value;
    };
    SmallVector<Stack> stacks;
    SmallVector<std::pair<unsigned, int64_t>> places; // (stack, index)
    for (Value p : op.getParams()) {
      auto type = cast<RankedTensorType>(p.getType());
      auto *found = llvm::find_if(
          stacks, [&](const Stack &stack) { return stack.type == type; });
      if (found == stacks.end()) {
        stacks.push_back({type, 0, Value()});
        found = std::prev(stacks.end());
      }
      places.push_back({unsigned(found - stacks.begin()), found->size++});
    }
    for (Stack &stack : stacks)
      stack.value = tensor::EmptyOp::create(
          b, loc,
          {stack.size, stack.type.getDimSize(0), stack.type.getDimSize(1)},
          stack.type.getElementType());
    auto sliceOf = [&](Stack &stack, int64_t index) {
      SmallVector<OpFoldResult> offsets = {
          b.getIndexAttr(index), b.getIndexAttr(0), b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {
          b.getIndexAttr(1), b.getIndexAttr(stack.type.getDimSize(0)),
          b.getIndexAttr(stack.type.getDimSize(1))};
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      return std::make_tuple(offsets, sizes, strides);
    };

    SmallVector<Value> bufs;
    for (auto [g, buf, place] :
         llvm::zip_equal(op.getGrads(), op.getBufs(), places)) {
      Stack &stack = stacks[place.first];
      auto [offsets, sizes, strides] = sliceOf(stack, place.second);
      Value slot = tensor::ExtractSliceOp::create(
          b, loc, stack.type, stack.value, offsets, sizes, strides);
      SmallVector<Value> moved = buildElementwiseResults(
          b, loc, ValueRange{g, buf}, 2,
          [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
            Value grad = mul(nb, l, a[0], scale);
            Value bufNew = lerp(nb, l, a[1], grad, oneMinusMomentum);
            Value update =
                nesterov ? lerp(nb, l, grad, bufNew, momentumV) : bufNew;
            return {bufNew, update};
          },
          {Value(), slot});
      bufs.push_back(moved[0]);
      stack.value = tensor::InsertSliceOp::create(b, loc, moved[1], stack.value,
                                                  offsets, sizes, strides);
    }
    SmallVector<Value> norms;
    for (Stack &stack : stacks)
      norms.push_back(
          frobeniusNorm(b, loc, stack.value, op.getEps().convertToDouble()));
    for (auto [stack, norm] : llvm::zip_equal(stacks, norms))
      stack.value = scaleMatrices(b, loc, stack.value, norm, /*divide=*/true);
    // NS5 on each matrix's short side, through BLAS; on a rectangular one
    // all in the Gram space.
    for (Stack &stack : stacks)
      stack.value =
          gramSpaceIsCheaper(stack.value)
              ? gramSpaceNewtonSchulz(b, loc, stack.value, op.getCoefficients(),
                                      op.getNsSteps(), buildBatchMatmul)
              : iterate(b, loc, op.getNsSteps(), stack.value,
                        [&](OpBuilder &nb, Location l, Value y) {
                          return newtonSchulzStep(
                              nb, l, y, op.getCoefficients(), buildBatchMatmul);
                        });
    SmallVector<Value> params;
    for (auto [p, place] : llvm::zip_equal(op.getParams(), places)) {
      Stack &stack = stacks[place.first];
      auto [offsets, sizes, strides] = sliceOf(stack, place.second);
      Value ortho = tensor::ExtractSliceOp::create(
          b, loc, stack.type, stack.value, offsets, sizes, strides);
      double ratio =
          std::sqrt(std::max(1.0, double(stack.type.getDimSize(0)) /
                                      double(stack.type.getDimSize(1))));
      Value stepSize = mul(b, loc, lr, f32(b, loc, ratio));
      params.push_back(
          buildElementwise(b, loc, ValueRange{p, ortho},
                           [&](OpBuilder &nb, Location l, ValueRange a) {
                             return sub(nb, l, mul(nb, l, a[0], decay),
                                        mul(nb, l, stepSize, a[1]));
                           }));
    }
    SmallVector<Value> results(params);
    results.append(bufs);
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mstream::populateLowerOptimizerOpsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerClipByGlobalNorm, LowerAdamWUpdate, LowerMuonUpdate>(
      patterns.getContext());
}
