//===- KernelOps.cpp - flash attention's verifiers and bufferization ------===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mstream;

namespace {

/// Checks that the operands are all tensors or all buffers, and that the
/// tensor form has one result per init, typed like it (the buffer form has
/// none).
LogicalResult verifyDestinationStyle(Operation *op, unsigned numInits) {
  bool tensors = isa<RankedTensorType>(op->getOperand(0).getType());
  for (auto [index, operand] : llvm::enumerate(op->getOperands()))
    if (isa<RankedTensorType>(operand.getType()) != tensors)
      return op->emitOpError() << "operand " << index << " is a "
                               << (tensors ? "buffer" : "tensor")
                               << " but operand 0 is not: the operands must "
                                  "be all tensors or all buffers";
  unsigned expected = tensors ? numInits : 0;
  if (op->getNumResults() != expected)
    return op->emitOpError()
           << "expected " << expected << " results ("
           << (tensors ? "one per out on tensors" : "none on buffers")
           << "), got " << op->getNumResults();
  unsigned firstInit = op->getNumOperands() - numInits;
  for (unsigned i = 0; i < expected; ++i)
    if (op->getResult(i).getType() != op->getOperand(firstInit + i).getType())
      return op->emitOpError() << "result " << i << " must have its out's type "
                               << op->getOperand(firstInit + i).getType()
                               << ", got " << op->getResult(i).getType();
  return success();
}

/// Checks `value` against `shape` and, where given, `element`.
LogicalResult verifyOperand(Operation *op, StringRef name, Value value,
                            ArrayRef<int64_t> shape, Type element) {
  auto type = cast<ShapedType>(value.getType());
  if (!shapesAgree(type.getShape(), shape))
    return op->emitOpError()
           << name << " must have shape " << formatShape(shape) << ", got "
           << formatShape(type.getShape());
  if (element && type.getElementType() != element)
    return op->emitOpError() << name << " must have element type " << element
                             << ", got " << type.getElementType();
  return success();
}

/// The checks both ops share: `[N, T, Dh]` inputs of one element type, an
/// `[N, T, Dh]` f32 out, an `[N, T]` f32 lse and a positive scale.
LogicalResult verifyAttention(Operation *op, Value q, Value k, Value v,
                              Value out, Value lse, double scale,
                              unsigned numInits) {
  if (failed(verifyDestinationStyle(op, numInits)))
    return failure();
  auto qType = cast<ShapedType>(q.getType());
  if (qType.getRank() != 3)
    return op->emitOpError() << "q must be [heads, seq, head_dim], got "
                             << formatShape(qType.getShape());
  ArrayRef<int64_t> shape = qType.getShape();
  Type f32 = Float32Type::get(op->getContext());
  if (failed(verifyOperand(op, "k", k, shape, qType.getElementType())) ||
      failed(verifyOperand(op, "v", v, shape, qType.getElementType())) ||
      failed(verifyOperand(op, "out", out, shape, f32)) ||
      failed(verifyOperand(op, "lse", lse, shape.drop_back(), f32)))
    return failure();
  return verifyPositive(op, "scale", scale);
}

void addEffects(
    Operation *op, unsigned numInits,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  unsigned firstInit = op->getNumOperands() - numInits;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (operand.getOperandNumber() < firstInit)
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// One-shot bufferization of the ops: inits alias their results and are
/// only written (the kernels never read what an out held before).
template <typename OpTy>
struct KernelOpBufferization
    : bufferization::BufferizableOpInterface::ExternalModel<
          KernelOpBufferization<OpTy>, OpTy> {
  static bool isInit(Operation *op, OpOperand &operand) {
    return cast<DestinationStyleOpInterface>(op).isDpsInit(&operand);
  }
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const bufferization::AnalysisState &) const {
    return !isInit(op, operand);
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const bufferization::AnalysisState &) const {
    return isInit(op, operand);
  }
  bufferization::AliasingValueList
  getAliasingValues(Operation *op, OpOperand &operand,
                    const bufferization::AnalysisState &) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    if (!dps.isDpsInit(&operand))
      return {};
    return {{dps.getTiedOpResult(&operand),
             bufferization::BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    OperationState bufferized(op->getLoc(), op->getName(), buffers, TypeRange{},
                              op->getAttrs());
    rewriter.create(bufferized);
    auto dps = cast<DestinationStyleOpInterface>(op);
    SmallVector<Value> outs(
        ArrayRef<Value>(buffers).take_back(dps.getNumDpsInits()));
    bufferization::replaceOpWithBufferizedValues(rewriter, op, outs);
    return success();
  }
};

} // namespace

LogicalResult FlashAttentionOp::verify() {
  return verifyAttention(*this, getQ(), getK(), getV(), getOut(), getLse(),
                         getScale().convertToDouble(), 2);
}

void FlashAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  addEffects(*this, 2, effects);
}

LogicalResult FlashAttentionGradOp::verify() {
  if (failed(verifyAttention(*this, getQ(), getK(), getV(), getOut(), getLse(),
                             getScale().convertToDouble(), 3)))
    return failure();
  auto q = cast<ShapedType>(getQ().getType());
  Type f32 = Float32Type::get(getContext());
  if (failed(verifyOperand(*this, "dout", getDout(), q.getShape(),
                           q.getElementType())) ||
      failed(verifyOperand(*this, "dq", getDq(), q.getShape(), f32)) ||
      failed(verifyOperand(*this, "dk", getDk(), q.getShape(), f32)) ||
      failed(verifyOperand(*this, "dv", getDv(), q.getShape(), f32)))
    return failure();
  return success();
}

void FlashAttentionGradOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  addEffects(*this, 3, effects);
}

void mstream::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MStreamDialect *) {
    FlashAttentionOp::attachInterface<KernelOpBufferization<FlashAttentionOp>>(
        *ctx);
    FlashAttentionGradOp::attachInterface<
        KernelOpBufferization<FlashAttentionGradOp>>(*ctx);
  });
}
