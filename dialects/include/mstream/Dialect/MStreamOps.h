//===- MStreamOps.h - mstream dialect ops -----------------------*- C++ -*-===//

#ifndef MSTREAM_DIALECT_MSTREAMOPS_H
#define MSTREAM_DIALECT_MSTREAMOPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mstream/Dialect/MStreamDialect.h"

namespace mstream {
/// Shared verifier of every step op (StepOpInterface): stream shapes, raw
/// scalar shapes, the LayerNorm gain and the head split.
llvm::LogicalResult verifyStepOp(mlir::Operation *op);
} // namespace mstream

#include "mstream/Dialect/MStreamInterfaces.h.inc"

#define GET_OP_CLASSES
#include "mstream/Dialect/MStreamOps.h.inc"

#endif // MSTREAM_DIALECT_MSTREAMOPS_H
