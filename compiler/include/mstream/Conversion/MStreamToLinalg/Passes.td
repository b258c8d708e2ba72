//===- Passes.td - lowering of the mstream dialect to linalg *- tablegen -*-===//

#ifndef MSTREAM_CONVERSION_MSTREAMTOLINALG_PASSES_TD
#define MSTREAM_CONVERSION_MSTREAMTOLINALG_PASSES_TD

include "mlir/Pass/PassBase.td"

def FusedToLoops : Pass<"mstream-fused-to-loops", "::mlir::ModuleOp"> {
  let summary = "Run each mstream.fused region once per token in an scf.forall";
  let description = [{
    Replaces every fused region by a parallel loop over its tokens
    (`scf.forall`): per-token inputs are sliced (`tensor.extract_slice`),
    the body is inlined, per-token results are inserted
    (`tensor.parallel_insert_slice`), and a token-sum result is inserted as
    the token's row of a `[tokens, ...]` partial that a `linalg.reduce`
    sums after the loop, in token order. No iteration reads what another
    writes, and bufferization gives each its own scratch buffers. Runs
    before mstream-lower-to-linalg, which then lowers the body's ops on one
    token's tensors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LowerToLinalg : Pass<"mstream-lower-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower every mstream op to linalg, tensor, arith, math and scf";
  let description = [{
    Step ops are decomposed into their stream math (one elementwise
    `linalg.generic` per formula), LayerNorms, per-token Newton-Schulz and
    inverse square roots; oracle ops become GEMMs (`linalg.matmul`,
    `linalg.batch_matmul`, later routed to the runtime's BLAS entry) plus
    generated reductions (LayerNorm statistics, causal softmax, logsumexp).
    The per-token matrix iterations stay `linalg.generic` contractions in an
    `scf.for`, so they are generated code, not library calls. Attention's
    core becomes `mstream.flash_attention` (and its VJP's
    `mstream.flash_attention_grad`), which stay for the target to take.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ExpandFlashAttention
    : Pass<"mstream-expand-flash-attention", "::mlir::ModuleOp"> {
  let summary = "Expand the flash attention ops into products and a softmax";
  let description = [{
    For targets without a flash kernel: each `mstream.flash_attention` on
    tensors becomes the `[N, T, T]` scores `q kᵀ` (an oracle
    `linalg.batch_matmul`), their causal softmax and the product with `v`;
    its `lse` is computed only where something reads it. Each
    `mstream.flash_attention_grad` recomputes the same scores and
    probabilities (CSE shares them with the forward's) and forms
    `dv = Pᵀ dout`, `dS = scale P (dP - rowsum(dP P))` with `dP = dout vᵀ`,
    `dq = dS k` and `dk = dSᵀ q` as products and generics. Runs right after
    mstream-lower-to-linalg, before the precision policy marks products.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // MSTREAM_CONVERSION_MSTREAMTOLINALG_PASSES_TD
