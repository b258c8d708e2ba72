//===- MStreamOps.h - mstream dialect ops -----------------------*- C++ -*-===//

#ifndef MSTREAM_DIALECT_MSTREAMOPS_H
#define MSTREAM_DIALECT_MSTREAMOPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mstream/Dialect/MStreamDialect.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mstream {
/// One-shot bufferization of the attention kernel ops (KernelOps.cpp).
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);

/// Shared verifier of every step op (StepOpInterface): stream shapes, raw
/// scalar shapes, the LayerNorm gain and the head split.
llvm::LogicalResult verifyStepOp(mlir::Operation *op);

/// `custom<SameTypes>` of the optimizer ops: the listed operand and result
/// type lists repeat the reference list (the params), so print nothing and
/// parse them as copies of it.
mlir::ParseResult parseSameTypes(mlir::OpAsmParser &parser,
                                 llvm::SmallVectorImpl<mlir::Type> &a,
                                 llvm::SmallVectorImpl<mlir::Type> &b,
                                 llvm::SmallVectorImpl<mlir::Type> &c,
                                 llvm::SmallVectorImpl<mlir::Type> &d,
                                 mlir::TypeRange ref);
mlir::ParseResult parseSameTypes(
    mlir::OpAsmParser &parser, llvm::SmallVectorImpl<mlir::Type> &a,
    llvm::SmallVectorImpl<mlir::Type> &b, llvm::SmallVectorImpl<mlir::Type> &c,
    llvm::SmallVectorImpl<mlir::Type> &d, llvm::SmallVectorImpl<mlir::Type> &e,
    llvm::SmallVectorImpl<mlir::Type> &f, mlir::TypeRange ref);
void printSameTypes(mlir::OpAsmPrinter &, mlir::Operation *, mlir::TypeRange,
                    mlir::TypeRange, mlir::TypeRange, mlir::TypeRange,
                    mlir::TypeRange);
void printSameTypes(mlir::OpAsmPrinter &, mlir::Operation *, mlir::TypeRange,
                    mlir::TypeRange, mlir::TypeRange, mlir::TypeRange,
                    mlir::TypeRange, mlir::TypeRange, mlir::TypeRange);
} // namespace mstream

#include "mstream/Dialect/MStreamInterfaces.h.inc"

#define GET_OP_CLASSES
#include "mstream/Dialect/MStreamOps.h.inc"

#endif // MSTREAM_DIALECT_MSTREAMOPS_H
