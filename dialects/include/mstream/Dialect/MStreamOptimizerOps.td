//===- MStreamOptimizerOps.td - weight optimizer ops -------*- tablegen -*-===//
//
// The optimizers that train the weights (docs/training.md), as ops over whole
// parameter groups: one op updates every tensor of a group, so a backend can
// fuse the group into a few kernels. Hyper-parameters that change during a
// run (lr, step) are 0-d tensor operands; the rest are attributes.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_MSTREAMOPTIMIZEROPS_TD
#define MSTREAM_DIALECT_MSTREAMOPTIMIZEROPS_TD

def MStream_F32Scalar : Type<
    And<[TensorOf<[F32]>.predicate, HasAnyRankOfPred<[0]>]>,
    "0-d f32 tensor", "::mlir::RankedTensorType">,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;

def MStream_ClipByGlobalNormOp : MStream_Op<"clip_by_global_norm", [Pure]> {
  let summary = "global gradient norm and the clipping factor";
  let description = [{
    `norm = sqrt(sum_i ||grads_i||²)` over every tensor, and
    `scale = min(1, max_norm / (norm + 1e-6))` as in PyTorch's
    `clip_grad_norm_`; `max_norm <= 0` disables clipping (`scale = 1`). The
    optimizer ops multiply their gradients by `scale`.

    ```mlir
    %norm, %scale = mstream.clip_by_global_norm %g0, %g1 {max_norm = 1.0}
        : tensor<16x16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Variadic<MStream_FloatTensor>:$grads,
                       DefaultValuedAttr<F64Attr, "1.0">:$max_norm);
  let results = (outs MStream_F32Scalar:$norm, MStream_F32Scalar:$scale);
  let assemblyFormat = "$grads attr-dict `:` type($grads)";
  let hasVerifier = 1;
}

def MStream_AdamWUpdateOp : MStream_Op<"adamw_update",
    [Pure, SameVariadicOperandSize, SameVariadicResultSize]> {
  let summary = "one AdamW step on every tensor of a parameter group";
  let description = [{
    PyTorch's AdamW (bias-corrected, decoupled decay) with `g = scale * grad`
    and `t = step` (counted from 1):
    `p *= 1 - lr wd; m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g²;`
    `p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
    `grads`, `m` and `v` have the types of `params`, in the same order.

    ```mlir
    %p, %m, %v = mstream.adamw_update params(%w) grads(%g) m(%m0) v(%v0)
        lr(%lr) step(%t) scale(%s) {weight_decay = 0.1}
        : tensor<256x16xf32>
    ```
  }];
  let arguments = (ins Variadic<MStream_FloatTensor>:$params,
      Variadic<MStream_FloatTensor>:$grads, Variadic<MStream_FloatTensor>:$m,
      Variadic<MStream_FloatTensor>:$v, MStream_F32Scalar:$lr,
      MStream_F32Scalar:$step, MStream_F32Scalar:$scale,
      DefaultValuedAttr<F64Attr, "0.9">:$beta1,
      DefaultValuedAttr<F64Attr, "0.95">:$beta2,
      DefaultValuedAttr<F64Attr, "1e-8">:$eps,
      DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs Variadic<MStream_FloatTensor>:$params_new,
                      Variadic<MStream_FloatTensor>:$m_new,
                      Variadic<MStream_FloatTensor>:$v_new);
  let assemblyFormat = [{
    `params` `(` $params `)` `grads` `(` $grads `)` `m` `(` $m `)` `v` `(` $v `)`
    `lr` `(` $lr `)` `step` `(` $step `)` `scale` `(` $scale `)` attr-dict `:`
    type($params) custom<SameTypes>(type($grads), type($m), type($v),
        type($params_new), type($m_new), type($v_new), ref(type($params)))
  }];
  let hasVerifier = 1;
}

def MStream_MuonUpdateOp : MStream_Op<"muon_update",
    [Pure, SameVariadicOperandSize, SameVariadicResultSize]> {
  let summary = "one Muon step on every [out, in] matrix of a parameter group";
  let description = [{
    PyTorch's Muon with `g = scale * grad`:
    `buf = lerp(buf, g, 1 - momentum)`; `u = lerp(g, buf, momentum)` when
    `nesterov`, else `buf`; `X = u / max(||u||_F, eps)`, then `ns_steps`
    quintic steps `A = X Xᵀ; X = (a I + b A + c A²) X` in the short
    orientation (mirrored when out > in: the Gram is min(out, in) square);
    `p *= 1 - lr wd; p -= lr sqrt(max(1, out/in)) X`.

    ```mlir
    %p, %b = mstream.muon_update params(%w) grads(%g) bufs(%b0)
        lr(%lr) scale(%s) : tensor<48x16xf32>
    ```
  }];
  let arguments = (ins Variadic<MStream_FloatTensor>:$params,
      Variadic<MStream_FloatTensor>:$grads,
      Variadic<MStream_FloatTensor>:$bufs, MStream_F32Scalar:$lr,
      MStream_F32Scalar:$scale,
      DefaultValuedAttr<F64Attr, "0.95">:$momentum,
      DefaultValuedAttr<BoolAttr, "true">:$nesterov,
      DefaultValuedAttr<I64Attr, "5">:$ns_steps,
      DefaultValuedAttr<DenseF64ArrayAttr, "{3.4445, -4.7750, 2.0315}">:$coefficients,
      DefaultValuedAttr<F64Attr, "1e-7">:$eps,
      DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs Variadic<MStream_FloatTensor>:$params_new,
                      Variadic<MStream_FloatTensor>:$bufs_new);
  let assemblyFormat = [{
    `params` `(` $params `)` `grads` `(` $grads `)` `bufs` `(` $bufs `)`
    `lr` `(` $lr `)` `scale` `(` $scale `)` attr-dict `:` type($params)
    custom<SameTypes>(type($grads), type($bufs), type($params_new),
        type($bufs_new), ref(type($params)))
  }];
  let hasVerifier = 1;
}

#endif // MSTREAM_DIALECT_MSTREAMOPTIMIZEROPS_TD
