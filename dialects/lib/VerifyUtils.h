//===- VerifyUtils.h - helpers shared by the op verifiers -------*- C++ -*-===//

#ifndef MSTREAM_DIALECT_LIB_VERIFYUTILS_H
#define MSTREAM_DIALECT_LIB_VERIFYUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/ArrayRef.h"

#include <string>

namespace mstream {

using mlir::ArrayRef;
using mlir::LogicalResult;
using mlir::Operation;
using mlir::ShapedType;
using mlir::StringRef;

/// "[2, 8, 16]", with "?" for a dynamic size.
std::string formatShape(ArrayRef<int64_t> shape);

/// Two sizes agree when equal or when either is dynamic.
inline bool sizesAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

/// Element-wise sizesAgree over shapes of the same rank.
bool shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b);

LogicalResult verifyIterationCount(Operation *op, StringRef name,
                                   int64_t iterations);
LogicalResult verifyPositive(Operation *op, StringRef name, double value);
LogicalResult verifyNewtonSchulzCoefficients(Operation *op, StringRef name,
                                             ArrayRef<double> coeffs);

} // namespace mstream

#endif // MSTREAM_DIALECT_LIB_VERIFYUTILS_H
