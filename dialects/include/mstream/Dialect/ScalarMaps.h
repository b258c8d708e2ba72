//===- ScalarMaps.h - maps from raw learned scalars ------------*- C++ -*-===//
//
// Learned scalars are stored raw; step ops map them through the logistic
// sigmoid (coefficients in (0,1)) or softplus (step sizes in (0,inf)). The
// folders and canonicalizations need the mapped value of a constant raw
// scalar rounded to the tensor's element type, exactly as a kernel would
// produce it.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_SCALARMAPS_H
#define MSTREAM_DIALECT_SCALARMAPS_H

#include "mlir/IR/Value.h"
#include <optional>

namespace mstream {

double sigmoid(double raw);
double softplus(double raw);

/// The value of a one-element constant raw scalar, if `raw` is one.
std::optional<double> getConstantRawScalar(mlir::Value raw);

/// True when `raw` is a constant whose sigmoid rounds to exactly 0 in the
/// element type of `raw` (a coefficient that removes its term).
bool isSigmoidExactlyZero(mlir::Value raw);

/// True when `raw` is a constant whose softplus rounds to exactly 1 in the
/// element type of `raw`.
bool isSoftplusExactlyOne(mlir::Value raw);

} // namespace mstream

#endif // MSTREAM_DIALECT_SCALARMAPS_H
