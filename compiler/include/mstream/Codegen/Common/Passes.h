//===- Passes.h - code generation for every target --------------*- C++ -*-===//

#ifndef MSTREAM_CODEGEN_COMMON_PASSES_H
#define MSTREAM_CODEGEN_COMMON_PASSES_H

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
#include "mlir/Pass/Pass.h"

namespace mstream {

#define GEN_PASS_DECL
#include "mstream/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mstream/Codegen/Common/Passes.h.inc"

/// The attribute of RecordEntryShapes, read by EmitEntryPoints.
inline constexpr llvm::StringLiteral kEntryShapesAttr = "mstream.entry_shapes";

/// The prefix of the packed wrapper of entry point `name`.
inline constexpr llvm::StringLiteral kEntryPrefix = "mstream_entry_";

} // namespace mstream

#endif // MSTREAM_CODEGEN_COMMON_PASSES_H
