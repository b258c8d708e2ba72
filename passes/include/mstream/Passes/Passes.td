//===- Passes.td - mstream passes ---------------------------*- tablegen -*-===//

#ifndef MSTREAM_PASSES_PASSES_TD
#define MSTREAM_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"mstream-lower-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower every mstream op to linalg, tensor, arith, math and scf";
  let description = [{
    Step ops are decomposed into their stream math (one elementwise
    `linalg.generic` per formula), LayerNorms, per-token Newton-Schulz and
    inverse square roots; oracle ops become GEMMs (`linalg.matmul`,
    `linalg.batch_matmul`, later routed to the runtime's BLAS entry) plus
    generated reductions (LayerNorm statistics, causal softmax, logsumexp).
    The per-token matrix iterations stay `linalg.generic` contractions in an
    `scf.for`, so they are generated code, not library calls.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def GemmToBlas : Pass<"mstream-gemm-to-blas", "::mlir::ModuleOp"> {
  let summary = "Route f32 linalg.matmul / batch_matmul on memrefs to the runtime's BLAS entry";
  let description = [{
    Replaces each bufferized `linalg.matmul` and `linalg.batch_matmul` (with
    plain or transposed operand maps, unit inner strides, f32) by a call to

      void mstream_sgemm(i64 batch, i64 transA, i64 transB, i64 M, i64 N,
                         i64 K, i64 a, i64 lda, i64 strideA, i64 b, i64 ldb,
                         i64 strideB, i64 c, i64 ldc, i64 strideC)

    which the runtime implements with a real BLAS as `C += op(A) op(B)` per
    batch entry; `a`, `b`, `c` are byte addresses. Anything else stays a
    linalg op and becomes generated loops.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def Autodiff : Pass<"mstream-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build loss_and_grads from loss by reverse-mode differentiation";
  let description = [{
    Clones `loss(tokens, targets, params...) -> loss` into
    `loss_and_grads(tokens, targets, params...) -> (loss, d params...)`.
    The backward sweep visits the ops in reverse and asks each for its
    vector-Jacobian product (`VjpOpInterface`); cotangents reaching a value
    twice are summed. Calls must be inlined first (`--inline`). A parameter
    that does not reach the loss gets a zero gradient.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RecordEntryShapes : Pass<"mstream-record-entry-shapes", "::mlir::ModuleOp"> {
  let summary = "Record the static memref argument shapes of every entry point";
  let description = [{
    Runs on bufferized IR, before the conversion to the LLVM dialect
    expands memref arguments into descriptors: each defined public function
    whose arguments are all statically shaped, identity-layout memrefs gets
    `mstream.entry_shapes`, one `array<i64>` per argument.
  }];
}

def EmitEntryPoints : Pass<"mstream-emit-entry-points", "::mlir::ModuleOp"> {
  let summary = "Give every entry point a packed `void mstream_entry_<name>(void **args)` wrapper";
  let description = [{
    Runs on the LLVM dialect: for each `llvm.func` carrying
    `mstream.entry_shapes`, emits a wrapper that loads one data pointer per
    argument from an array and rebuilds the static, row-major memref
    descriptors. The runtime calls every entry point the same way, whatever
    the model's parameter count.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // MSTREAM_PASSES_PASSES_TD
