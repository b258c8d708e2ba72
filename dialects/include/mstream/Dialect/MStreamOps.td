//===- MStreamOps.td - mstream dialect ops -----------------*- tablegen -*-===//
//
// Three families: model/oracle ops (embedding .. cross_entropy), per-token
// matrix ops (newton_schulz, inv_sqrt, eye), and one step op per optimizer
// scheme (gd .. soap) plus the Nesterov/TMM lookahead. The weight optimizer
// ops, the fused regions and the attention kernels have their own files.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_MSTREAMOPS_TD
#define MSTREAM_DIALECT_MSTREAMOPS_TD

include "mstream/Dialect/MStreamDialect.td"
include "mstream/Dialect/MStreamInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def MStream_FloatTensor : RankedTensorOf<[AnyFloat]>;
def MStream_TokenTensor : RankedTensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Model and oracle ops
//===----------------------------------------------------------------------===//

def MStream_EmbeddingOp : MStream_Op<"embedding", [Pure]> {
  let summary = "token plus absolute position embedding";
  let description = [{
    `result[b, t, :] = tok[ids[b, t], :] + pos[t, :]` for positions
    `t = 0 .. T-1`. Used for the residual stream and for the auxiliary
    streams that start from learned embeddings (`vel_*`, `m_*`).

    ```mlir
    %x0 = mstream.embedding %ids, %tok, %pos
        : (tensor<2x8xi32>, tensor<256x16xf32>, tensor<128x16xf32>) -> tensor<2x8x16xf32>
    ```
  }];
  let arguments = (ins MStream_TokenTensor:$ids, MStream_FloatTensor:$tok,
                       MStream_FloatTensor:$pos);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat =
      "$ids `,` $tok `,` $pos attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def MStream_LayerNormOp : MStream_Op<"layer_norm",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "LayerNorm over the last axis with a gain and no bias";
  let description = [{
    `w * (x - mean(x)) / sqrt(var(x) + eps)` over the last axis, with the
    biased variance (divide by d). PyTorch's `nn.LayerNorm(d, bias=False)`.

    ```mlir
    %y = mstream.layer_norm %x, %w {eps = 1.0e-05 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$gain,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = "$x `,` $gain attr-dict `:` type($x) `,` type($gain)";
  let hasVerifier = 1;
}

def MStream_AttentionOp : MStream_Op<"attention",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "causal multi-head self-attention oracle";
  let description = [{
    `qkv = x W_qkvᵀ` split into contiguous q, k, v chunks of width d; head h
    owns features `[h*Dh, (h+1)*Dh)` of each chunk; scores `q kᵀ / sqrt(Dh)`
    with a lower-triangular (diagonal included) causal mask; softmax over
    keys; heads concatenated; then `W_o`. No biases, no dropout.
    `w_qkv` is `[3d, d]` and `w_out` is `[d, d]` (PyTorch Linear layout).
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$w_qkv,
                       MStream_FloatTensor:$w_out, I64Attr:$heads);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $w_qkv `,` $w_out attr-dict `:` type($x) `,` type($w_qkv) `,` type($w_out)
  }];
  let hasVerifier = 1;
}

def MStream_MlpOp : MStream_Op<"mlp", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "two-layer MLP oracle with the exact (erf) GELU";
  let description = [{
    `gelu(x W1ᵀ) W2ᵀ` with `W1: [f, d]`, `W2: [d, f]`, no biases, and the
    exact erf GELU (PyTorch's `F.gelu` default, not the tanh approximation).
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$w1,
                       MStream_FloatTensor:$w2);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat =
      "$x `,` $w1 `,` $w2 attr-dict `:` type($x) `,` type($w1) `,` type($w2)";
  let hasVerifier = 1;
}

def MStream_TiedHeadOp : MStream_Op<"tied_head", [Pure]> {
  let summary = "output logits through the tied token embedding";
  let description = [{
    `logits = x Eᵀ` where `E: [V, d]` is the token embedding table.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$table);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat =
      "$x `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def MStream_CrossEntropyOp : MStream_Op<"cross_entropy", [Pure]> {
  let summary = "mean token cross-entropy over every position and class";
  let description = [{
    `mean over (b, t) of logsumexp(logits[b, t, :]) - logits[b, t, targets[b, t]]`.
    Every class counts (no ignore index); the result is a 0-d tensor.
  }];
  let arguments = (ins MStream_FloatTensor:$logits,
                       MStream_TokenTensor:$targets);
  let results = (outs 0DTensorOf<[AnyFloat]>:$loss);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->` type($loss)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Per-token matrix ops
//===----------------------------------------------------------------------===//

def MStream_NewtonSchulzOp : MStream_Op<"newton_schulz",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "quintic Newton-Schulz on each trailing H x Dh matrix";
  let description = [{
    Acts on the trailing two axes (one token's `H x Dh` matrix `Z`):
    `Y0 = Z / max(||Z||_F, eps)`, then `iterations` times
    `A = Yᵀ Y; Y = Y (a I + b A + c A²)` with `coefficients = [a, b, c]`.
    When H < Dh the lowering computes the equal `(a I + b A + c A²) Y` with
    the H x H Gram `A = Y Yᵀ` instead.
    No transpose and no final rescale: NS5 in the paper's configuration does
    not converge to the polar factor (singular values land in ~0.68-1.12).

    ```mlir
    %y = mstream.newton_schulz %z : tensor<2x8x4x32xf32>
    ```
  }];
  let arguments = (ins MStream_FloatTensor:$input,
      DefaultValuedAttr<I64Attr, "5">:$iterations,
      DefaultValuedAttr<DenseF64ArrayAttr, "{3.4445, -4.7750, 2.0315}">:$coefficients,
      DefaultValuedAttr<F64Attr, "1e-12">:$eps);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def MStream_InvSqrtOp : MStream_Op<"inv_sqrt",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Newton-Schulz inverse square root of each trailing PSD matrix";
  let description = [{
    For each trailing `n x n` symmetric PSD matrix `R`:
    `Rr = R + eps I`, `c = max(||Rr||_F, eps)`, `N = Rr / c`, `X0 = I`, then
    `iterations` times `X = 0.5 X (3 I - X N X)`; the result is `X / sqrt(c)`.
    Pure matmuls: eigenvalues of `N` far below 1 are under-inverted (the
    factor grows at most 1.5x per iteration).
  }];
  let arguments = (ins MStream_FloatTensor:$input,
      DefaultValuedAttr<I64Attr, "10">:$iterations,
      DefaultValuedAttr<F64Attr, "1e-6">:$eps);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def MStream_EyeOp : MStream_Op<"eye", [Pure]> {
  let summary = "identity matrices in the trailing two axes";
  let description = [{
    Every trailing `n x n` matrix is the identity: the initial right
    preconditioner statistics `R0 = I` of shampoo and soap. Not a constant
    attribute on purpose: at the paper's size it is 8x1024x64x64 floats.
  }];
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Step ops
//
// Operand order is fixed for every step op and relied on by
// StepOpInterface: x, auxiliary streams, grad, raw scalars, LN gain.
// Results: x_new, then the new auxiliary streams in operand order.
// sigma() is the logistic sigmoid, softplus(r) = ln(1 + e^r).
//===----------------------------------------------------------------------===//

class MStream_StepOp<string mnemonic, list<Trait> traits = []>
    : MStream_Op<mnemonic, !listconcat([Pure, MStream_StepOpInterface], traits)> {
  // The arguments' names, which are also the assembly's keywords: the
  // verifiers quote operands as the IR prints them. Generated from the
  // `arguments` each op declares, so they cannot disagree.
  let extraClassDeclaration = [{
    static ::llvm::ArrayRef<::llvm::StringRef> getArgumentNames() {
      static const ::llvm::StringRef names[] = {}] #
      !interleave(!foreach(i, !range(!size(arguments)),
                           "\"" # !getdagname(arguments, i) # "\""), ", ") # [{};
      return names;
    }
  }];
}

def MStream_LookaheadOp : MStream_Op<"lookahead",
    [Pure, AllTypesMatch<["x", "v", "result"]>]> {
  let summary = "Nesterov/TMM lookahead x + sigma(mu_raw) v";
  let description = [{
    The point at which a nesterov or tmm substep evaluates its oracle:
    `x~ = x + sigma(mu_raw) * v`. Kept separate from the step op because it
    feeds the oracle that produces the step's `grad`; stream fusion fuses it
    into the previous substep's kernel.

    ```mlir
    %xt = mstream.lookahead x(%x) v(%v) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32>
    ```
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$v,
                       MStream_FloatTensor:$mu);
  let results = (outs MStream_FloatTensor:$result);
  let assemblyFormat = [{
    `x` `(` $x `)` `v` `(` $v `)` `mu` `(` $mu `)` attr-dict `:` type($x) `,` type($mu)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def MStream_GdOp : MStream_StepOp<"gd", [AllTypesMatch<["x", "grad", "x_new"]>]> {
  let summary = "vanilla residual step x + g";
  let description = [{
    The plain gradient-descent reading of a pre-norm residual update:
    `x' = x + g`. Streams: x.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$grad);
  let results = (outs MStream_FloatTensor:$x_new);
  let assemblyFormat = "`x` `(` $x `)` `grad` `(` $grad `)` attr-dict `:` type($x)";
  let hasFolder = 1;
}

def MStream_HeavyBallOp : MStream_StepOp<"heavy_ball",
    [AllTypesMatch<["x", "v", "grad", "x_new", "v_new"]>,
     AllTypesMatch<["beta", "gamma"]>]> {
  let summary = "Polyak heavy-ball step with a LayerNorm'd velocity (hb)";
  let description = [{
    `v' = LN_v(sigma(beta) v + softplus(gamma) g)`, `x' = x + v'`.
    Streams: x, v.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$v,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_v,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$v_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `v` `(` $v `)` `grad` `(` $grad `)` `beta` `(` $beta `)`
    `gamma` `(` $gamma `)` `ln_v` `(` $ln_v `)` attr-dict `:`
    type($x) `,` type($beta) `,` type($ln_v)
  }];
}

def MStream_NesterovOp : MStream_StepOp<"nesterov",
    [AllTypesMatch<["x", "v", "grad", "x_new", "v_new"]>,
     AllTypesMatch<["beta", "gamma"]>]> {
  let summary = "Nesterov step (YuriiFormer); the lookahead is its own op";
  let description = [{
    `v' = LN_v(sigma(beta) v + softplus(gamma) g)`, `x' = x + v'`, where `g`
    is the oracle evaluated at `mstream.lookahead` of (x, v). The update uses
    `x`, not the lookahead point. Streams: x, v.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$v,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_v,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$v_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `v` `(` $v `)` `grad` `(` $grad `)` `beta` `(` $beta `)`
    `gamma` `(` $gamma `)` `ln_v` `(` $ln_v `)` attr-dict `:`
    type($x) `,` type($beta) `,` type($ln_v)
  }];
}

def MStream_TmmOp : MStream_StepOp<"tmm",
    [AllTypesMatch<["x", "v", "grad", "x_new", "v_new"]>,
     AllTypesMatch<["beta", "gamma", "nu"]>]> {
  let summary = "triple-momentum step (TMMFormer)";
  let description = [{
    `v' = LN_v(sigma(beta) v + softplus(gamma) g)`,
    `x' = x + softplus(nu) v'`, with `g` evaluated at the lookahead.
    Streams: x, v.

    Canonicalization: when `nu` is a constant whose softplus, correctly
    rounded to the element type, is exactly 1, the step is a `nesterov` step
    (YuriiFormer). ln(e-1) rounded to f32 qualifies; the paper's init
    0.5413248 does not (its softplus is 1 - 3.8e-8, which is 0.99999994 in
    f32), so an initialised TMMFormer stays a tmm.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$v,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$nu,
      MStream_FloatTensor:$ln_v,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$v_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `v` `(` $v `)` `grad` `(` $grad `)` `beta` `(` $beta `)`
    `gamma` `(` $gamma `)` `nu` `(` $nu `)` `ln_v` `(` $ln_v `)` attr-dict `:`
    type($x) `,` type($beta) `,` type($ln_v)
  }];
  let hasCanonicalizer = 1;
}

def MStream_AdamOp : MStream_StepOp<"adam",
    [AllTypesMatch<["x", "m", "s", "grad", "x_new", "m_new", "s_new"]>,
     AllTypesMatch<["beta1", "beta2", "gamma"]>]> {
  let summary = "Adam-style step with per-coordinate second moment";
  let description = [{
    `m' = sigma(beta1) m + (1 - sigma(beta1)) g`,
    `s' = sigma(beta2) s + (1 - sigma(beta2)) g²`,
    `x' = x + softplus(gamma) LN_u(m' / (sqrt(s') + denom_eps))`.
    The eps sits outside the square root; there is no bias correction.
    Streams: x, m, s.

    Canonicalization: with `beta1` constant and `sigma(beta1) == 0` exactly,
    `m' = g`, which is an `rmsprop` step (m' is replaced by `grad`).
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$m,
      MStream_FloatTensor:$s, MStream_FloatTensor:$grad,
      MStream_FloatTensor:$beta1, MStream_FloatTensor:$beta2,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps,
      DefaultValuedAttr<F64Attr, "1e-8">:$denom_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$m_new,
                      MStream_FloatTensor:$s_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `m` `(` $m `)` `s` `(` $s `)` `grad` `(` $grad `)`
    `beta1` `(` $beta1 `)` `beta2` `(` $beta2 `)` `gamma` `(` $gamma `)`
    `ln_u` `(` $ln_u `)` attr-dict `:` type($x) `,` type($beta1) `,` type($ln_u)
  }];
  let hasCanonicalizer = 1;
}

def MStream_AdamWOp : MStream_StepOp<"adamw",
    [AllTypesMatch<["x", "m", "s", "grad", "x_new", "m_new", "s_new"]>,
     AllTypesMatch<["beta1", "beta2", "gamma"]>]> {
  let summary = "Adam-style step with decoupled decay of the residual";
  let description = [{
    As `adam`, but `x' = (1 - sigma(lambda)) x + softplus(gamma) LN_u(...)`.
    `lambda` is a 0-d tensor in the reference state_dict. Streams: x, m, s.

    Canonicalization: with `lambda` constant and `sigma(lambda) == 0`
    exactly (e.g. -inf), the step is an `adam` step.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$m,
      MStream_FloatTensor:$s, MStream_FloatTensor:$grad,
      MStream_FloatTensor:$beta1, MStream_FloatTensor:$beta2,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$lambda,
      MStream_FloatTensor:$ln_u,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps,
      DefaultValuedAttr<F64Attr, "1e-8">:$denom_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$m_new,
                      MStream_FloatTensor:$s_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `m` `(` $m `)` `s` `(` $s `)` `grad` `(` $grad `)`
    `beta1` `(` $beta1 `)` `beta2` `(` $beta2 `)` `gamma` `(` $gamma `)`
    `lambda` `(` $lambda `:` type($lambda) `)` `ln_u` `(` $ln_u `)` attr-dict `:`
    type($x) `,` type($beta1) `,` type($ln_u)
  }];
  let hasCanonicalizer = 1;
}

def MStream_RmsPropOp : MStream_StepOp<"rmsprop",
    [AllTypesMatch<["x", "s", "grad", "x_new", "s_new"]>,
     AllTypesMatch<["beta2", "gamma"]>]> {
  let summary = "RMSProp-style step (adam without the m stream)";
  let description = [{
    `s' = sigma(beta2) s + (1 - sigma(beta2)) g²`,
    `x' = x + softplus(gamma) LN_u(g / (sqrt(s') + denom_eps))`.
    Streams: x, s.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$s,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta2,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps,
      DefaultValuedAttr<F64Attr, "1e-8">:$denom_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$s_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `s` `(` $s `)` `grad` `(` $grad `)` `beta2` `(` $beta2 `)`
    `gamma` `(` $gamma `)` `ln_u` `(` $ln_u `)` attr-dict `:`
    type($x) `,` type($beta2) `,` type($ln_u)
  }];
}

def MStream_MuonOp : MStream_StepOp<"muon",
    [AllTypesMatch<["x", "m", "grad", "x_new", "m_new"]>,
     AllTypesMatch<["beta", "gamma"]>]> {
  let summary = "per-token head-wise Newton-Schulz of an EMA momentum";
  let description = [{
    `m' = sigma(beta) m + (1 - sigma(beta)) g`,
    `u = Flatten(NS(Reshape_{heads x Dh}(m')))`,
    `x' = x + softplus(gamma) LN_u(u)`. The carried `m'` is not
    orthogonalised. Streams: x, m.

    Canonicalization: with `beta` constant and `sigma(beta) == 0` exactly,
    `m' = g` and the step is an `ortho` step.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$m,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      I64Attr:$heads,
      DefaultValuedAttr<I64Attr, "5">:$ns_iterations,
      DefaultValuedAttr<DenseF64ArrayAttr, "{3.4445, -4.7750, 2.0315}">:$ns_coefficients,
      DefaultValuedAttr<F64Attr, "1e-12">:$ns_eps,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$m_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `m` `(` $m `)` `grad` `(` $grad `)` `beta` `(` $beta `)`
    `gamma` `(` $gamma `)` `ln_u` `(` $ln_u `)` attr-dict `:`
    type($x) `,` type($beta) `,` type($ln_u)
  }];
  let hasCanonicalizer = 1;
}

def MStream_OrthoOp : MStream_StepOp<"ortho",
    [AllTypesMatch<["x", "grad", "x_new"]>]> {
  let summary = "per-token head-wise Newton-Schulz of the oracle output";
  let description = [{
    `x' = x + softplus(gamma) LN_u(Flatten(NS(Reshape_{heads x Dh}(g))))`.
    Streams: x.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$grad,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      I64Attr:$heads,
      DefaultValuedAttr<I64Attr, "5">:$ns_iterations,
      DefaultValuedAttr<DenseF64ArrayAttr, "{3.4445, -4.7750, 2.0315}">:$ns_coefficients,
      DefaultValuedAttr<F64Attr, "1e-12">:$ns_eps,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `grad` `(` $grad `)` `gamma` `(` $gamma `)`
    `ln_u` `(` $ln_u `)` attr-dict `:` type($x) `,` type($gamma) `,` type($ln_u)
  }];
}

def MStream_ShampooOp : MStream_StepOp<"shampoo",
    [AllTypesMatch<["x", "grad", "x_new"]>, AllTypesMatch<["r", "r_new"]>,
     AllTypesMatch<["beta_r", "gamma"]>]> {
  let summary = "per-token right-factor Shampoo step (no momentum)";
  let description = [{
    With `G = Reshape_{heads x Dh}(g)`:
    `R' = sigma(beta_r) R + (1 - sigma(beta_r)) GᵀG` (`Dh x Dh` per token),
    `x' = x + softplus(gamma) LN_u(Flatten(G InvSqrt(R')))`.
    Streams: x, r (shape `[..., Dh, Dh]`).
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$r,
      MStream_FloatTensor:$grad, MStream_FloatTensor:$beta_r,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      I64Attr:$heads,
      DefaultValuedAttr<I64Attr, "10">:$inv_sqrt_iterations,
      DefaultValuedAttr<F64Attr, "1e-6">:$inv_sqrt_eps,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$r_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `r` `(` $r `:` type($r) `)` `grad` `(` $grad `)`
    `beta_r` `(` $beta_r `)` `gamma` `(` $gamma `)` `ln_u` `(` $ln_u `)` attr-dict `:`
    type($x) `,` type($beta_r) `,` type($ln_u)
  }];
}

def MStream_SoapOp : MStream_StepOp<"soap",
    [AllTypesMatch<["x", "m", "grad", "x_new", "m_new"]>,
     AllTypesMatch<["r", "r_new"]>,
     AllTypesMatch<["beta1", "beta_r", "gamma"]>]> {
  let summary = "EMA momentum with the Shampoo-style right preconditioner";
  let description = [{
    With `G = Reshape_{heads x Dh}(g)` and `M` the head-space view of `m`:
    `M' = sigma(beta1) M + (1 - sigma(beta1)) G`,
    `R' = sigma(beta_r) R + (1 - sigma(beta_r)) GᵀG`,
    `x' = x + softplus(gamma) LN_u(Flatten(M' InvSqrt(R')))`.
    `m` is carried flat (`[..., d]`); R collects statistics from G only.
    Streams: x, m, r.

    Canonicalization: with `beta1` constant and `sigma(beta1) == 0` exactly,
    `M' = G` and the step is a `shampoo` step.
  }];
  let arguments = (ins MStream_FloatTensor:$x, MStream_FloatTensor:$m,
      MStream_FloatTensor:$r, MStream_FloatTensor:$grad,
      MStream_FloatTensor:$beta1, MStream_FloatTensor:$beta_r,
      MStream_FloatTensor:$gamma, MStream_FloatTensor:$ln_u,
      I64Attr:$heads,
      DefaultValuedAttr<I64Attr, "10">:$inv_sqrt_iterations,
      DefaultValuedAttr<F64Attr, "1e-6">:$inv_sqrt_eps,
      DefaultValuedAttr<F64Attr, "1e-5">:$ln_eps);
  let results = (outs MStream_FloatTensor:$x_new, MStream_FloatTensor:$m_new,
                      MStream_FloatTensor:$r_new);
  let assemblyFormat = [{
    `x` `(` $x `)` `m` `(` $m `)` `r` `(` $r `:` type($r) `)` `grad` `(` $grad `)`
    `beta1` `(` $beta1 `)` `beta_r` `(` $beta_r `)` `gamma` `(` $gamma `)`
    `ln_u` `(` $ln_u `)` attr-dict `:` type($x) `,` type($beta1) `,` type($ln_u)
  }];
  let hasCanonicalizer = 1;
}

include "mstream/Dialect/MStreamOptimizerOps.td"
include "mstream/Dialect/MStreamFusionOps.td"
include "mstream/Dialect/MStreamKernelOps.td"

#endif // MSTREAM_DIALECT_MSTREAMOPS_TD
