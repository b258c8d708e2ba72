//===- Passes.td - code generation passes every target runs *- tablegen -*-===//

#ifndef MSTREAM_CODEGEN_COMMON_PASSES_TD
#define MSTREAM_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def PrivateFillInits : Pass<"mstream-private-fill-inits", "::mlir::ModuleOp"> {
  let summary = "Give every op that accumulates into a fill its own fill, next to it";
  let description = [{
    CSE merges the identical zero fills that GEMMs and reductions accumulate
    into, and hoists them out of loops: one fill at the top of a function
    then initialises dozens of ops. Bufferized, each of those ops writes
    into a copy of the shared buffer, a read and a write of the whole
    output where a fill is only a write, and a loop that yields such an
    op's result copies it once more per iteration. This pass, run just
    before bufferization, clones the fill (and its `tensor.empty`) right
    before each destination-passing op that uses it as an init, so that
    every op writes in place into a fresh buffer, and the fill is the op
    right before it (which `mstream-gemm-to-blas` folds into the call).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ApplyPrecision : Pass<"mstream-apply-precision", "::mlir::ModuleOp"> {
  let summary = "Run the oracles' products with bf16 operands under the bf16 policy";
  let description = [{
    The precision policy (docs/precision.md), on linalg tensors. With
    `precision=bf16`, each f32 `linalg.matmul` / `linalg.batch_matmul`
    marked `mstream.oracle_product` (the attention and MLP projections,
    attention's two products, the tied head, and the gradients of all of
    them) reads its two operands rounded to bf16 (round to nearest even,
    `arith.truncf` in a `linalg.generic` of their own) and accumulates in
    f32 into its f32 result: the product of two bf16 numbers is exact in
    f32, so the result is the f32 sum of exact products, as on tensor cores
    and AMX. `mstream.flash_attention` reads q, k and v rounded the same
    way, and its gradient also the cotangent of its output; their outputs
    and the log-sum-exp stay f32. Everything else stays f32: the per-token matrix iterations,
    the weight optimizer's Newton–Schulz, LayerNorm, softmax, the loss, the
    streams, the optimizer state and the weights (whose bf16 copies the
    rounding makes afresh each step from the f32 masters). `precision=fp32`
    changes nothing.

    A value read by several products (a weight, forward and backward) is
    rounded once. Where the rounded value is computed by an elementwise
    `linalg.generic` that nothing else reads (the logit gradient, GELU's
    output), the rounding is fused into it (upstream elementwise fusion):
    the producer writes bf16 and the f32 tensor is never materialised.
  }];
  let options = [
    Option<"precision", "precision", "std::string", "\"fp32\"",
           "fp32 or bf16">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def GemmToBlas : Pass<"mstream-gemm-to-blas", "::mlir::ModuleOp"> {
  let summary = "Route f32 linalg.matmul / batch_matmul on memrefs to the runtime's BLAS entry";
  let description = [{
    Replaces each bufferized `linalg.matmul` and `linalg.batch_matmul` (with
    plain or transposed operand maps, unit inner strides, f32 or, after
    `mstream-apply-precision`, bf16 operands into an f32 result) by a call
    to

      void mstream_sgemm(i64 batch, i64 transA, i64 transB, i64 M, i64 N,
                         i64 K, i64 a, i64 lda, i64 strideA, i64 b, i64 ldb,
                         i64 strideB, i64 c, i64 ldc, i64 strideC,
                         i64 accumulate)

    which the runtime implements with a real BLAS as `C += op(A) op(B)` per
    batch entry, or `C = op(A) op(B)` when `accumulate` is 0; `a`, `b`, `c`
    are byte addresses. A zero `linalg.fill` of C right before the matmul
    (how every GEMM's accumulator starts) is dropped for `accumulate` 0:
    the library's overwrite is one pass over C fewer than a fill and an
    accumulation, and on the GPU one kernel fewer. A product with bf16
    operands calls `bf16-symbol` instead, with the same arguments: it
    multiplies in bf16 and accumulates in f32. Anything else stays a
    linalg op and becomes generated loops.
  }];
  let options = [
    Option<"symbol", "symbol", "std::string", "\"mstream_sgemm\"",
           "The runtime function the GEMMs call (mstream_cuda_sgemm for CUDA)">,
    Option<"bf16Symbol", "bf16-symbol", "std::string",
           "\"mstream_gemm_bf16\"",
           "The runtime function the GEMMs with bf16 operands call "
           "(mstream_cuda_gemm_bf16 for CUDA)">,
    Option<"inTokenLoops", "in-token-loops", "bool", "true",
           "Also route the GEMMs inside token loops (scf.forall). The CUDA "
           "pipeline keeps those as loops: they run inside a kernel">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AttentionToRuntime
    : Pass<"mstream-attention-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Route the flash attention ops on buffers to the runtime's kernels";
  let description = [{
    Replaces each bufferized `mstream.flash_attention` by a call to

      void mstream_flash_attention(i64 bf16, i64 N, i64 T, i64 Dh,
                                   f64 scale, q..., k..., v..., out...,
                                   lse...)

    and each `mstream.flash_attention_grad` by a call to

      void mstream_flash_attention_grad(i64 bf16, i64 N, i64 T, i64 Dh,
                                        f64 scale, q..., k..., v..., out...,
                                        dout..., lse..., dq..., dk..., dv...)

    where each buffer `x...` is three i64: its byte address, the stride of
    its axis 1 and that of its axis 0, in elements (an lse's axis 1 stride
    is 1), and `bf16` says whether q, k, v and dout hold bf16. Buffers with
    a non-unit inner stride are an error: the kernels read rows whole.
  }];
  let options = [
    Option<"symbol", "symbol", "std::string", "\"mstream_flash_attention\"",
           "The runtime function the forward op calls">,
    Option<"gradSymbol", "grad-symbol", "std::string",
           "\"mstream_flash_attention_grad\"",
           "The runtime function the gradient op calls">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def FreeAfterLastUse : Pass<"mstream-free-after-last-use", "::mlir::ModuleOp"> {
  let summary = "Move each buffer's dealloc up to right after its last use";
  let description = [{
    MLIR's ownership-based buffer deallocation frees a buffer at the end of
    the block that allocates it, so every temporary of a straight-line
    function lives until the function returns: a d=512 train step held
    1 GiB of them at its end (forward activations, gradients, each
    Newton-Schulz iterate of the weight optimizer) where far fewer are ever
    live at once. This pass, run after the deallocation pipeline, moves an
    unconditional `memref.dealloc` of a `memref.alloc` in the same block up
    to right after the last op of that block that uses the buffer or an
    alias of it (a memref or pointer result of any op that uses it,
    nested uses counted at their ancestor in the block). A buffer an alias
    of which reaches the block's terminator, or that another dealloc
    frees, is left alone. The allocator then reuses the memory, still in
    cache, for the next temporary.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
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

#endif // MSTREAM_CODEGEN_COMMON_PASSES_TD
