//===- MStreamKernelOps.td - ops a backend hands to a kernel -*- tablegen -*-===//
//
// Causal attention's core, as the oracles' lowering and VJP build it. Each
// target decides what it becomes: the CPU backend calls the runtime's flash
// kernels; the GPU pipelines expand it to products and a softmax
// (mstream-expand-flash-attention). The ops are in destination style, so
// that one-shot bufferization gives them their inits' buffers, and they
// keep their meaning on buffers (no results, outs written).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_MSTREAMKERNELOPS_TD
#define MSTREAM_DIALECT_MSTREAMKERNELOPS_TD

include "mlir/Interfaces/DestinationStyleOpInterface.td"

def MStream_AttentionInput
    : AnyTypeOf<[RankedTensorOf<[F32, BF16]>, MemRefOf<[F32, BF16]>]>;
def MStream_AttentionOutput : AnyTypeOf<[RankedTensorOf<[F32]>, MemRefOf<[F32]>]>;

def MStream_FlashAttentionOp : MStream_Op<"flash_attention",
    [DestinationStyleOpInterface,
     DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "causal scaled dot-product attention without the score matrix";
  let description = [{
    For each of N independent heads, with `q`, `k`, `v` of shape `[N, T, Dh]`:
    `out[n, i] = sum_{j <= i} softmax_j(scale * q[n, i] . k[n, j]) v[n, j]`
    and `lse[n, i] = log sum_{j <= i} exp(scale * q[n, i] . k[n, j])`, the
    statistic the backward pass recomputes the probabilities from. Kernels
    may compute it block by block (online softmax), so that no `[T, T]`
    buffer exists. `q`, `k`, `v` are f32 or all bf16 (the products'
    precision); `out` and `lse` are f32.

    ```mlir
    %o, %lse = mstream.flash_attention ins(%q, %k, %v : tensor<8x64x16xf32>,
        tensor<8x64x16xf32>, tensor<8x64x16xf32>)
        outs(%o0, %l0 : tensor<8x64x16xf32>, tensor<8x64xf32>) {scale = 0.25 : f64}
        -> tensor<8x64x16xf32>, tensor<8x64xf32>
    ```
  }];
  let arguments = (ins MStream_AttentionInput:$q, MStream_AttentionInput:$k,
                       MStream_AttentionInput:$v,
                       MStream_AttentionOutput:$out,
                       MStream_AttentionOutput:$lse, F64Attr:$scale);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$results);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `:` type($q) `,` type($k) `,` type($v) `)`
    `outs` `(` $out `,` $lse `:` type($out) `,` type($lse) `)`
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    mlir::MutableOperandRange getDpsInitsMutable() {
      return mlir::MutableOperandRange(getOperation(), 3, 2);
    }
  }];
  let hasVerifier = 1;
}

def MStream_FlashAttentionGradOp : MStream_Op<"flash_attention_grad",
    [DestinationStyleOpInterface,
     DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "the gradients of flash_attention's inputs";
  let description = [{
    Given the forward's inputs, its `out` and `lse`, and the cotangent
    `dout` of `out`: `dq`, `dk`, `dv`, with the probabilities recomputed
    from `lse` (`P = exp(scale q kᵀ - lse)`, causal) and
    `dS = scale P (dP - rowsum(dout * out))`, `dP = dout vᵀ`:
    `dv = Pᵀ dout`, `dq = dS k`, `dk = dSᵀ q`. `dout` has the inputs'
    element type; `out`, `lse` and the gradients are f32.
  }];
  let arguments = (ins MStream_AttentionInput:$q, MStream_AttentionInput:$k,
                       MStream_AttentionInput:$v,
                       MStream_AttentionOutput:$out,
                       MStream_AttentionInput:$dout,
                       MStream_AttentionOutput:$lse,
                       MStream_AttentionOutput:$dq,
                       MStream_AttentionOutput:$dk,
                       MStream_AttentionOutput:$dv, F64Attr:$scale);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$results);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `,` $out `,` $dout `,` $lse `:` type($q) `,`
      type($k) `,` type($v) `,` type($out) `,` type($dout) `,` type($lse) `)`
    `outs` `(` $dq `,` $dk `,` $dv `:` type($dq) `,` type($dk) `,` type($dv) `)`
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    mlir::MutableOperandRange getDpsInitsMutable() {
      return mlir::MutableOperandRange(getOperation(), 6, 3);
    }
  }];
  let hasVerifier = 1;
}

#endif // MSTREAM_DIALECT_MSTREAMKERNELOPS_TD
