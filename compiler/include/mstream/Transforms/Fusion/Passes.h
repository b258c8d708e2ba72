//===- Passes.h - stream and preconditioner fusion --------------*- C++ -*-===//

#ifndef MSTREAM_TRANSFORMS_FUSION_PASSES_H
#define MSTREAM_TRANSFORMS_FUSION_PASSES_H

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
#include "llvm/Support/raw_ostream.h"

namespace mstream {

#define GEN_PASS_DECL
#include "mstream/Transforms/Fusion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mstream/Transforms/Fusion/Passes.h.inc"

/// For every function with mstream.fused regions, one line per region: its
/// token grid, how many ops it fused, the bytes it reads and writes per
/// token, and what those ops would move per token as separate kernels.
void printFusionReport(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace mstream

#endif // MSTREAM_TRANSFORMS_FUSION_PASSES_H
