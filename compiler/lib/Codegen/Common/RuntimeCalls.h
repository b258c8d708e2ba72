//===- RuntimeCalls.h - buffers as the runtime's entries take them -*- C++
//-*-===//
//
// The runtime's library entries (BLAS, flash attention) take each buffer as
// a byte address and element strides, all i64: what mstream-gemm-to-blas
// and mstream-attention-to-runtime pass for a memref.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_CODEGEN_COMMON_RUNTIMECALLS_H
#define MSTREAM_CODEGEN_COMMON_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mstream {

/// A buffer's byte address, the stride of its axis `batch` (its rows'
/// leading dimension) and that of axis 0 before it (0 without one).
struct RuntimeOperand {
  mlir::Value address, leading, batchStride;
};
RuntimeOperand describeOperand(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value memref, unsigned batch);

/// Whether the runtime can read `value`: a memref of `element`s with unit
/// inner stride.
bool hasUnitInnerStride(mlir::Value value, mlir::Type element);

/// The private declaration of `symbol` in `module`, made with `type` at
/// the module's start where there is none.
mlir::func::FuncOp getOrDeclareFunction(mlir::ModuleOp module,
                                        mlir::OpBuilder &b,
                                        llvm::StringRef symbol,
                                        mlir::FunctionType type);

} // namespace mstream

#endif // MSTREAM_CODEGEN_COMMON_RUNTIMECALLS_H
