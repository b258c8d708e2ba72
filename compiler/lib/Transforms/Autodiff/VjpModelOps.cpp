//===- VjpModelOps.cpp - vector-Jacobian products of the model ops --------===//
//
// Reverse-mode rules for embedding, layer_norm, attention, mlp, tied_head,
// cross_entropy and the gd step, attached to the ops as VjpOpInterface
// external models. Forward intermediates are rematerialised from the op's
// operands (ModelBuilders), and GEMMs stay named linalg ops so that the
// backward GEMMs reach BLAS like the forward ones.
//
//===----------------------------------------------------------------------===//

#include "VjpBuilders.h"

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Autodiff/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mstream;
using namespace mstream::lowering;

namespace {

using utils::IteratorType;

struct GdVjp : VjpOpInterface::ExternalModel<GdVjp, GdOp> {
  LogicalResult buildVjp(Operation *op, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    // x' = x + g.
    out.append({cotangents[0], cotangents[0]});
    return success();
  }
};

struct EmbeddingVjp : VjpOpInterface::ExternalModel<EmbeddingVjp, EmbeddingOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<EmbeddingOp>(raw);
    Location loc = op.getLoc();
    Value dy = cotangents[0];
    auto type = op.getType();
    int64_t seq = type.getDimSize(1), width = type.getDimSize(2);
    Type element = type.getElementType();

    // d pos[t] = sum over the batch of dy[b, t]; rows >= T get nothing.
    MLIRContext *ctx = b.getContext();
    AffineExpr bd = getAffineDimExpr(0, ctx), t = getAffineDimExpr(1, ctx),
               d = getAffineDimExpr(2, ctx);
    Value perPosition = buildGeneric(
        b, loc,
        filled(b, loc, RankedTensorType::get({seq, width}, element), 0.0), dy,
        AffineMap::get(3, 0, {bd, t, d}, ctx),
        AffineMap::get(3, 0, {t, d}, ctx),
        {IteratorType::reduction, IteratorType::parallel,
         IteratorType::parallel},
        [](OpBuilder &nb, Location l, ValueRange a) {
          return arith::AddFOp::create(nb, l, a[1], a[0]).getResult();
        });
    Value dPos = filled(b, loc, op.getPos().getType(), 0.0);
    dPos = tensor::InsertSliceOp::create(
        b, loc, perPosition, dPos,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(seq), b.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});

    // d tok[id] += dy[b, t] for each position: a scatter-add, one row per
    // position in an scf.for.
    Value ids = collapseLeading(b, loc, op.getIds(), 0);
    Value rows = flattenTokens(b, loc, dy);
    int64_t positions = cast<RankedTensorType>(rows.getType()).getDimSize(0);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value count = arith::ConstantIndexOp::create(b, loc, positions);
    auto rowType = RankedTensorType::get({width}, element);
    auto rowSlice = [&](OpBuilder &nb, Location l, Value source, Value row) {
      return tensor::ExtractSliceOp::create(
          nb, l, rowType, source, ValueRange{row}, ValueRange{}, ValueRange{},
          ArrayRef<int64_t>{ShapedType::kDynamic, 0},
          ArrayRef<int64_t>{1, width}, ArrayRef<int64_t>{1, 1});
    };
    auto loop = scf::ForOp::create(
        b, loc, zero, count, one,
        ValueRange{filled(b, loc, op.getTok().getType(), 0.0)},
        [&](OpBuilder &nb, Location l, Value position, ValueRange carried) {
          Value id = tensor::ExtractOp::create(nb, l, ids, position);
          Value row = arith::IndexCastOp::create(nb, l, nb.getIndexType(), id);
          Value current = rowSlice(nb, l, carried[0], row);
          Value update = rowSlice(nb, l, rows, position);
          // Into the row itself: the update bufferizes in place, with no
          // temporary row and copy per position.
          Value sum = buildElementwiseResults(
              nb, l, ValueRange{current, update}, 1,
              [](OpBuilder &bb, Location bl,
                 ValueRange a) -> SmallVector<Value> {
                return {arith::AddFOp::create(bb, bl, a[0], a[1])};
              },
              {current})[0];
          Value next = tensor::InsertSliceOp::create(
              nb, l, sum, carried[0], ValueRange{row}, ValueRange{},
              ValueRange{}, ArrayRef<int64_t>{ShapedType::kDynamic, 0},
              ArrayRef<int64_t>{1, width}, ArrayRef<int64_t>{1, 1});
          scf::YieldOp::create(nb, l, next);
        });
    out.append({Value(), loop.getResult(0), dPos});
    return success();
  }
};

struct LayerNormVjp : VjpOpInterface::ExternalModel<LayerNormVjp, LayerNormOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<LayerNormOp>(raw);
    LayerNormGrads grads =
        buildLayerNormVjp(b, op.getLoc(), op.getX(), op.getGain(),
                          op.getEps().convertToDouble(), cotangents[0]);
    out.append({grads.dx, grads.dGain});
    return success();
  }
};

struct MlpVjp : VjpOpInterface::ExternalModel<MlpVjp, MlpOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<MlpOp>(raw);
    Location loc = op.getLoc();
    Value x = flattenTokens(b, loc, op.getX());
    Value dy = flattenTokens(b, loc, cotangents[0]);
    Value hidden = buildLinear(b, loc, x, op.getW1());
    Value activated = gelu(b, loc, hidden);
    Value dW2 = buildOracleMatmul(b, loc, dy, activated, true, false);
    Value dActivated = buildOracleMatmul(b, loc, dy, op.getW2(), false, false);
    Value dHidden =
        multiply(b, loc, dActivated, geluDerivative(b, loc, hidden));
    Value dW1 = buildOracleMatmul(b, loc, dHidden, x, true, false);
    Value dx = buildOracleMatmul(b, loc, dHidden, op.getW1(), false, false);
    out.append({expandLeading(b, loc, dx, op.getType()), dW1, dW2});
    return success();
  }
};

struct AttentionVjp : VjpOpInterface::ExternalModel<AttentionVjp, AttentionOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<AttentionOp>(raw);
    Location loc = op.getLoc();
    auto type = op.getType();
    int64_t batch = type.getDimSize(0), heads = op.getHeads();

    AttentionForward f =
        buildAttentionForward(b, loc, op.getX(), op.getWQkv(), heads);
    Value x = f.input;
    Value dy = flattenTokens(b, loc, cotangents[0]);
    Value dWo = buildOracleMatmul(b, loc, dy, f.merged, true, false);
    Value dMerged = buildOracleMatmul(b, loc, dy, op.getWOut(), false, false);
    Value dContext = splitHeads(b, loc, dMerged, batch, heads, 0, 1);
    SmallVector<Value> inits;
    for (int i = 0; i < 3; ++i)
      inits.push_back(
          tensor::EmptyOp::create(b, loc, f.q.getType(), ValueRange{}));
    auto grad = FlashAttentionGradOp::create(
        b, loc, TypeRange(ValueRange(inits)), f.q, f.k, f.v, f.context,
        dContext, f.lse, inits[0], inits[1], inits[2],
        b.getF64FloatAttr(attentionScale(op.getX(), heads)));
    Value dq = grad.getResult(0), dk = grad.getResult(1),
          dv = grad.getResult(2);
    Value dQkv = joinQkv(b, loc, dq, dk, dv, batch, heads);
    Value dWqkv = buildOracleMatmul(b, loc, dQkv, x, true, false);
    Value dx = buildOracleMatmul(b, loc, dQkv, op.getWQkv(), false, false);
    out.append({expandLeading(b, loc, dx, type), dWqkv, dWo});
    return success();
  }
};

struct TiedHeadVjp : VjpOpInterface::ExternalModel<TiedHeadVjp, TiedHeadOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<TiedHeadOp>(raw);
    Location loc = op.getLoc();
    Value x = flattenTokens(b, loc, op.getX());
    Value dLogits = flattenTokens(b, loc, cotangents[0]);
    Value dx = buildOracleMatmul(b, loc, dLogits, op.getTable(), false, false);
    Value dTable = buildOracleMatmul(b, loc, dLogits, x, true, false);
    out.append({expandLeading(b, loc, dx, op.getX().getType()), dTable});
    return success();
  }
};

/// d logits = d loss / N * (softmax(logits) - onehot(target)), written over
/// the logits: nothing reads them after the loss, so bufferization reuses
/// their buffer and a step never holds a second vocab-sized f32 buffer
/// (under bf16, mstream-apply-precision makes this generic write the bf16
/// copy the head's gradient products read instead).
struct CrossEntropyVjp
    : VjpOpInterface::ExternalModel<CrossEntropyVjp, CrossEntropyOp> {
  LogicalResult buildVjp(Operation *raw, OpBuilder &b, ValueRange cotangents,
                         SmallVectorImpl<Value> &out) const {
    auto op = cast<CrossEntropyOp>(raw);
    Location loc = op.getLoc();
    Value logits = collapseLeading(b, loc, op.getLogits(), 1);
    Value targets = collapseLeading(b, loc, op.getTargets(), 0);
    auto type = cast<RankedTensorType>(logits.getType());
    // The forward's statistics: CSE shares them with the loss's lowering.
    auto [rowMax, rowSum] = buildLogSumExp(b, loc, logits);
    Value count = constant(b, loc, type.getElementType(), type.getDimSize(0));
    MLIRContext *ctx = b.getContext();
    AffineMap rows = leadingMap(ctx, 2, 1);
    // The logits are an input rather than the output's initial value, so
    // that elementwise fusion can move this generic into a consumer.
    Value dLogits = buildGeneric(
        b, loc, logits,
        ValueRange{logits, rowMax, rowSum, targets, cotangents[0]},
        {b.getMultiDimIdentityMap(2), rows, rows, rows,
         AffineMap::get(2, 0, {}, ctx)},
        b.getMultiDimIdentityMap(2),
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value shifted = arith::SubFOp::create(nb, l, a[0], a[1]);
          Value e = math::ExpOp::create(nb, l, shifted);
          Value p = arith::DivFOp::create(nb, l, e, a[2]);
          Value column = linalg::IndexOp::create(nb, l, 1);
          Value target =
              arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[3]);
          Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                            column, target);
          Value one = constant(nb, l, p.getType(), 1.0);
          Value zero = constant(nb, l, p.getType(), 0.0);
          Value onehot = arith::SelectOp::create(nb, l, hit, one, zero);
          Value diff = arith::SubFOp::create(nb, l, p, onehot);
          Value scaled = arith::MulFOp::create(nb, l, diff, a[4]);
          return arith::DivFOp::create(nb, l, scaled, count).getResult();
        });
    out.append(
        {expandLeading(b, loc, dLogits, op.getLogits().getType()), Value()});
    return success();
  }
};

} // namespace

void mstream::registerVjpInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    GdOp::attachInterface<GdVjp>(*ctx);
    EmbeddingOp::attachInterface<EmbeddingVjp>(*ctx);
    LayerNormOp::attachInterface<LayerNormVjp>(*ctx);
    MlpOp::attachInterface<MlpVjp>(*ctx);
    AttentionOp::attachInterface<AttentionVjp>(*ctx);
    TiedHeadOp::attachInterface<TiedHeadVjp>(*ctx);
    CrossEntropyOp::attachInterface<CrossEntropyVjp>(*ctx);
  });
  registerStepVjpInterfaces(registry);
  registerMatrixVjpInterfaces(registry);
  registerFusedVjpInterface(registry);
}
