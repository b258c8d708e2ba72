//===- MStreamFusionOps.td - fused per-token regions -------*- tablegen -*-===//
//
// What mstream-fuse-streams and mstream-fuse-preconditioners build: one
// region per fused kernel, written for a single token.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_MSTREAMFUSIONOPS_TD
#define MSTREAM_DIALECT_MSTREAMFUSIONOPS_TD

def MStream_FusedOp : MStream_Op<"fused",
    [IsolatedFromAbove, RecursiveMemoryEffects, RecursivelySpeculatable,
     SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "one fused kernel: a region that computes a single token";
  let description = [{
    The body is the math of one token; the op runs it for every token
    position of `tokens` (the leading dimensions, `[batch, seq]`), so each
    stream is read once and written once per kernel, whatever the body does
    in between. `name` says which substep it is (`layers.3.attn`, with a
    `.grad` suffix for the backward region autodiff builds).

    An input is either *per token* (its block argument has the input's type
    with every token dimension set to 1: the token's slice) or *shared* (its
    block argument has the input's type: a learned scalar, a LayerNorm
    gain). Likewise a result is per token (the body yields the token's
    slice; the results stack them) or a *token sum* (the body yields the
    full type and the result adds every token's value: the cotangent of a
    shared input).

    ```mlir
    %x2, %v2, %h = mstream.fused "layers.0.attn" tokens [2, 8]
        (%x, %v, %g, %beta, %gamma, %nu, %gain, %mu, %gain2)
        : (tensor<2x8x16xf32>, ...) -> (tensor<2x8x16xf32>, ...) {
    ^bb0(%tx: tensor<1x1x16xf32>, ...):
      %xn, %vn = mstream.tmm x(%tx) v(%tv) grad(%tg) ...
      %la = mstream.lookahead x(%xn) v(%vn) mu(%tmu) ...
      %hn = mstream.layer_norm %la, %tgain2 ...
      mstream.yield %xn, %vn, %hn : ...
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, DenseI64ArrayAttr:$tokens,
                       Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name `tokens` $tokens `(` $inputs `)` attr-dict `:`
    functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// `type` as one token of `tokens` sees it: with the token dimensions
    /// set to 1 when it starts with them, else unchanged (shared).
    static mlir::Type getTokenSliceType(mlir::Type type,
                                        llvm::ArrayRef<int64_t> tokens);
    /// Whether the body sees input `i` (or yields result `i`) per token.
    bool isPerTokenInput(unsigned i);
    bool isPerTokenResult(unsigned i);
    /// The body's terminator.
    YieldOp getYield();
  }];
}

def MStream_YieldOp : MStream_Op<"yield",
    [Pure, HasParent<"FusedOp">, Terminator]> {
  let summary = "the token's results of a fused region";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, {}); }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // MSTREAM_DIALECT_MSTREAMFUSIONOPS_TD
