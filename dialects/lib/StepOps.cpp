//===- StepOps.cpp - verifiers and folders of the step ops ----------------===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Dialect/ScalarMaps.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mstream;

/// Verifies the attributes that only some step ops carry, by name.
static LogicalResult verifyStepAttributes(Operation *op, int64_t width) {
  if (auto heads = op->getAttrOfType<IntegerAttr>("heads")) {
    if (heads.getInt() <= 0 || width % heads.getInt() != 0)
      return op->emitOpError()
             << "heads = " << heads.getInt()
             << " must be positive and divide the feature width d = " << width
             << " of x";
  }
  for (StringRef name : {"ns_iterations", "inv_sqrt_iterations"})
    if (auto count = op->getAttrOfType<IntegerAttr>(name))
      if (failed(verifyIterationCount(op, name, count.getInt())))
        return failure();
  for (StringRef name : {"ln_eps", "denom_eps", "ns_eps", "inv_sqrt_eps"})
    if (auto eps = op->getAttrOfType<FloatAttr>(name))
      if (failed(verifyPositive(op, name, eps.getValueAsDouble())))
        return failure();
  if (auto coeffs = op->getAttrOfType<DenseF64ArrayAttr>("ns_coefficients"))
    return verifyNewtonSchulzCoefficients(op, "ns_coefficients",
                                          coeffs.asArrayRef());
  return success();
}

LogicalResult mstream::verifyStepOp(Operation *op) {
  auto step = cast<StepOpInterface>(op);
  ArrayRef<StringRef> labels = step.getOperandLabels();
  auto xType = cast<RankedTensorType>(step.getResidual().getType());
  if (xType.getRank() < 1 || xType.isDynamicDim(xType.getRank() - 1))
    return op->emitOpError("x must have a static feature axis, got ") << xType;
  int64_t width = xType.getShape().back();
  Type element = xType.getElementType();

  unsigned firstScalar = op->getNumResults() + 1;
  for (auto [index, raw] : llvm::enumerate(step.getRawScalars())) {
    auto type = cast<RankedTensorType>(raw.getType());
    if (type.getRank() > 1 || type.getNumElements() != 1 ||
        type.getElementType() != element)
      return op->emitOpError()
             << "raw scalar '" << labels[firstScalar + index]
             << "' must be a one-element tensor of shape [1] or [] with "
                "element type "
             << element << ", got " << type;
  }

  if (Value gain = step.getLnGain()) {
    auto type = cast<RankedTensorType>(gain.getType());
    if (type.getRank() != 1 || !sizesAgree(type.getDimSize(0), width) ||
        type.getElementType() != element)
      return op->emitOpError()
             << "LayerNorm gain '" << labels.back() << "' must have shape "
             << formatShape({width}) << " and element type " << element
             << " to match x " << xType << ", got " << type;
  }

  if (failed(verifyStepAttributes(op, width)))
    return failure();

  // The right preconditioner stream r is one Dh x Dh matrix per token.
  for (auto [index, stream] : llvm::enumerate(step.getStreamsIn())) {
    if (labels[1 + index] != "r")
      continue;
    int64_t headDim = width / step.getHeadCount();
    SmallVector<int64_t> expected(xType.getShape().drop_back());
    expected.append({headDim, headDim});
    auto type = cast<RankedTensorType>(stream.getType());
    if (!shapesAgree(type.getShape(), expected) ||
        type.getElementType() != element)
      return op->emitOpError()
             << "r must have shape " << formatShape(expected)
             << " (the leading axes of x, then Dh x Dh with Dh = d / heads = "
             << headDim << ") and element type " << element << ", got " << type;
  }
  return success();
}

LogicalResult LookaheadOp::verify() {
  auto type = getMu().getType();
  Type element = getX().getType().getElementType();
  if (type.getRank() > 1 || type.getNumElements() != 1 ||
      type.getElementType() != element)
    return emitOpError() << "raw scalar 'mu' must be a one-element tensor of "
                            "shape [1] or [] with element type "
                         << element << ", got " << type;
  return success();
}

/// True when the folded operand is a splat of +0 or -0.
static bool isZeroSplat(Attribute attr) {
  auto dense = dyn_cast_if_present<DenseFPElementsAttr>(attr);
  return dense && dense.isSplat() && dense.getSplatValue<APFloat>().isZero();
}

OpFoldResult LookaheadOp::fold(FoldAdaptor adaptor) {
  // x + mu * 0 == x (TMM-zerovel's first layer), and x + 0 * v == x.
  if (isZeroSplat(adaptor.getV()) || isSigmoidExactlyZero(getMu()))
    return getX();
  return {};
}

OpFoldResult GdOp::fold(FoldAdaptor adaptor) {
  if (isZeroSplat(adaptor.getGrad()))
    return getX();
  return {};
}
