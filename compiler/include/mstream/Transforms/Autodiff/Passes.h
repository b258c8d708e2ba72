//===- Passes.h - reverse-mode autodiff and the train step ------*- C++ -*-===//

#ifndef MSTREAM_TRANSFORMS_AUTODIFF_PASSES_H
#define MSTREAM_TRANSFORMS_AUTODIFF_PASSES_H

#include "mstream/Dialect/AttrNames.h"
#include "mstream/Dialect/MStreamDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"

namespace mstream {

#define GEN_PASS_DECL
#include "mstream/Transforms/Autodiff/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mstream/Transforms/Autodiff/Passes.h.inc"

/// The functions mstream-autodiff and mstream-build-train-step build.
inline constexpr llvm::StringLiteral kLossAndGradsName = "loss_and_grads";
inline constexpr llvm::StringLiteral kTrainStepName = "train_step";

/// Attaches the vector-Jacobian products of the mstream ops
/// (VjpOpInterface external models).
void registerVjpInterfaces(mlir::DialectRegistry &registry);
/// The step ops', the matrix ops' and the fused regions' shares of
/// registerVjpInterfaces.
void registerStepVjpInterfaces(mlir::DialectRegistry &registry);
void registerMatrixVjpInterfaces(mlir::DialectRegistry &registry);
/// The fused regions' VJP: a backward fused region.
void registerFusedVjpInterface(mlir::DialectRegistry &registry);

} // namespace mstream

#endif // MSTREAM_TRANSFORMS_AUTODIFF_PASSES_H
