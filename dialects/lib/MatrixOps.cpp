//===- MatrixOps.cpp - verifiers of the per-token matrix ops --------------===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamOps.h"

using namespace mlir;
using namespace mstream;

LogicalResult mstream::verifyIterationCount(Operation *op, StringRef name,
                                            int64_t iterations) {
  if (iterations < 1)
    return op->emitOpError()
           << name << " must be at least 1, got " << iterations;
  return success();
}

LogicalResult mstream::verifyPositive(Operation *op, StringRef name,
                                      double value) {
  if (!(value > 0))
    return op->emitOpError() << name << " must be positive, got " << value;
  return success();
}

LogicalResult mstream::verifyNewtonSchulzCoefficients(Operation *op,
                                                      StringRef name,
                                                      ArrayRef<double> coeffs) {
  if (coeffs.size() != 3)
    return op->emitOpError() << name
                             << " must hold the three quintic coefficients "
                                "[a, b, c], got "
                             << coeffs.size() << " values";
  return success();
}

LogicalResult NewtonSchulzOp::verify() {
  auto type = getInput().getType();
  if (type.getRank() < 2)
    return emitOpError("input must end in a [heads, head_dim] matrix, got ")
           << type;
  return failure(
      failed(verifyIterationCount(*this, "iterations", getIterations())) ||
      failed(verifyNewtonSchulzCoefficients(*this, "coefficients",
                                            getCoefficients())) ||
      failed(verifyPositive(*this, "eps", getEps().convertToDouble())));
}

LogicalResult InvSqrtOp::verify() {
  auto type = getInput().getType();
  if (type.getRank() < 2 || !sizesAgree(type.getDimSize(type.getRank() - 1),
                                        type.getDimSize(type.getRank() - 2)))
    return emitOpError("input must end in a square [n, n] matrix, got ")
           << type;
  return failure(
      failed(verifyIterationCount(*this, "iterations", getIterations())) ||
      failed(verifyPositive(*this, "eps", getEps().convertToDouble())));
}

LogicalResult EyeOp::verify() {
  auto type = getResult().getType();
  if (type.getRank() < 2 || !type.hasStaticShape() ||
      type.getDimSize(type.getRank() - 1) !=
          type.getDimSize(type.getRank() - 2))
    return emitOpError("result must be a static tensor ending in a square "
                       "[n, n] matrix, got ")
           << type;
  return success();
}
