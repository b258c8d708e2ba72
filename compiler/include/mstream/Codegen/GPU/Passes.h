//===- Passes.h - code generation for GPUs ----------------------*- C++ -*-===//

#ifndef MSTREAM_CODEGEN_GPU_PASSES_H
#define MSTREAM_CODEGEN_GPU_PASSES_H

#include "mstream/Dialect/AttrNames.h"
#include "mstream/Dialect/MStreamDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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
#include "mstream/Codegen/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mstream/Codegen/GPU/Passes.h.inc"

} // namespace mstream

#endif // MSTREAM_CODEGEN_GPU_PASSES_H
