//===- ReverseMode.h - the reverse sweep of autodiff ------------*- C++ -*-===//
//
// Shared by mstream-autodiff (a function body) and the VJP of a fused
// region (the region's body, rebuilt for one token).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_LIB_REVERSEMODE_H
#define MSTREAM_PASSES_LIB_REVERSEMODE_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mstream {

/// Visits `ops` (in program order) in reverse at the builder's insertion
/// point, asking each op reached by a cotangent for its VJP; `cotangents`
/// maps values to their cotangent and gains every operand's, summed where a
/// value is used twice.
llvm::LogicalResult
propagateCotangents(mlir::OpBuilder &b, llvm::ArrayRef<mlir::Operation *> ops,
                    llvm::DenseMap<mlir::Value, mlir::Value> &cotangents);

} // namespace mstream

#endif // MSTREAM_PASSES_LIB_REVERSEMODE_H
