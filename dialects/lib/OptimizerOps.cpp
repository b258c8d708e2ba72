//===- OptimizerOps.cpp - verifiers and syntax of the weight optimizers ---===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamOps.h"

using namespace mlir;
using namespace mstream;

namespace {

ParseResult copyTypes(ArrayRef<SmallVectorImpl<Type> *> lists, TypeRange ref) {
  for (SmallVectorImpl<Type> *list : lists)
    list->assign(ref.begin(), ref.end());
  return success();
}

/// Tensor `i` of every list in `lists` must have the type of `params[i]`.
LogicalResult verifyGroup(Operation *op, ValueRange params,
                          ArrayRef<std::pair<StringRef, ValueRange>> lists) {
  if (params.empty())
    return op->emitOpError("needs at least one parameter");
  for (auto [name, values] : lists)
    for (auto [index, pair] : llvm::enumerate(llvm::zip(params, values)))
      if (std::get<0>(pair).getType() != std::get<1>(pair).getType())
        return op->emitOpError()
               << name << " #" << index << " must have the type of params #"
               << index << " (" << std::get<0>(pair).getType() << "), got "
               << std::get<1>(pair).getType();
  return success();
}

LogicalResult verifyFraction(Operation *op, StringRef name, double value) {
  if (!(value >= 0 && value < 1))
    return op->emitOpError() << name << " must lie in [0, 1), got " << value;
  return success();
}

LogicalResult verifyNonNegative(Operation *op, StringRef name, double value) {
  if (!(value >= 0))
    return op->emitOpError() << name << " must not be negative, got " << value;
  return success();
}

} // namespace

ParseResult mstream::parseSameTypes(OpAsmParser &, SmallVectorImpl<Type> &a,
                                    SmallVectorImpl<Type> &b,
                                    SmallVectorImpl<Type> &c,
                                    SmallVectorImpl<Type> &d, TypeRange ref) {
  return copyTypes({&a, &b, &c, &d}, ref);
}

ParseResult mstream::parseSameTypes(OpAsmParser &, SmallVectorImpl<Type> &a,
                                    SmallVectorImpl<Type> &b,
                                    SmallVectorImpl<Type> &c,
                                    SmallVectorImpl<Type> &d,
                                    SmallVectorImpl<Type> &e,
                                    SmallVectorImpl<Type> &f, TypeRange ref) {
  return copyTypes({&a, &b, &c, &d, &e, &f}, ref);
}

void mstream::printSameTypes(OpAsmPrinter &, Operation *, TypeRange, TypeRange,
                             TypeRange, TypeRange, TypeRange) {}

void mstream::printSameTypes(OpAsmPrinter &, Operation *, TypeRange, TypeRange,
                             TypeRange, TypeRange, TypeRange, TypeRange,
                             TypeRange) {}

LogicalResult ClipByGlobalNormOp::verify() {
  if (getGrads().empty())
    return emitOpError("needs at least one gradient");
  return success();
}

LogicalResult AdamWUpdateOp::verify() {
  if (failed(verifyGroup(*this, getParams(),
                         {{"grads", getGrads()},
                          {"m", getM()},
                          {"v", getV()},
                          {"params_new", getParamsNew()},
                          {"m_new", getMNew()},
                          {"v_new", getVNew()}})))
    return failure();
  return failure(
      failed(verifyFraction(*this, "beta1", getBeta1().convertToDouble())) ||
      failed(verifyFraction(*this, "beta2", getBeta2().convertToDouble())) ||
      failed(verifyPositive(*this, "eps", getEps().convertToDouble())) ||
      failed(verifyNonNegative(*this, "weight_decay",
                               getWeightDecay().convertToDouble())));
}

LogicalResult MuonUpdateOp::verify() {
  if (failed(verifyGroup(*this, getParams(),
                         {{"grads", getGrads()},
                          {"bufs", getBufs()},
                          {"params_new", getParamsNew()},
                          {"bufs_new", getBufsNew()}})))
    return failure();
  for (auto [index, param] : llvm::enumerate(getParams())) {
    auto type = cast<RankedTensorType>(param.getType());
    if (type.getRank() != 2 || !type.hasStaticShape())
      return emitOpError() << "params #" << index
                           << " must be a static [out, in] matrix, got "
                           << type;
  }
  return failure(
      failed(
          verifyFraction(*this, "momentum", getMomentum().convertToDouble())) ||
      failed(verifyNewtonSchulzCoefficients(*this, "coefficients",
                                            getCoefficients())) ||
      failed(verifyPositive(*this, "eps", getEps().convertToDouble())) ||
      failed(verifyNonNegative(*this, "weight_decay",
                               getWeightDecay().convertToDouble())));
}
