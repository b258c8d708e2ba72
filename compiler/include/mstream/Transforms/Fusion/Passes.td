//===- Passes.td - fusion of streams and per-token preconditioning *- tablegen -*-===//

#ifndef MSTREAM_TRANSFORMS_FUSION_PASSES_TD
#define MSTREAM_TRANSFORMS_FUSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def FusePreconditioners : Pass<"mstream-fuse-preconditioners", "::mlir::ModuleOp"> {
  let summary = "Run each per-token matrix iteration as one per-token region";
  let description = [{
    Wraps every op whose lowering iterates on per-token matrices (the
    muon, ortho, shampoo and soap steps; newton_schulz and inv_sqrt) in an
    `mstream.fused` region that computes one token. All iterations of
    Newton-Schulz (5 quintic steps, on the smaller H x H Gram side when
    H < Dh) or of the inverse square root (10 coupled steps on Dh x Dh)
    then work on that token's matrices while they stay in cache, instead of
    streaming every token's matrices through memory once per product.
    Ops already inside a region are left alone; mstream-fuse-streams grows
    these regions into whole substeps.
  }];
}

def FuseStreams : Pass<"mstream-fuse-streams", "::mlir::ModuleOp"> {
  let summary = "Fuse each substep's stream math into one per-token region";
  let description = [{
    Groups every step op (or a region from mstream-fuse-preconditioners
    holding one) with the lookahead at its new (x, v) and the pre-norm
    `layer_norm` of the next oracle, and moves the group into one
    `mstream.fused` region named after the substep (`layers.3.attn`). The
    first substep's lookahead and pre-norm form a region of their own. A
    region reads the streams and the oracle output once and writes the new
    streams and the next oracle's input once; the values it used to pass
    between ops stay inside. mstream-autodiff turns each region into a
    backward region (`.grad`) that recomputes the token's forward values.
  }];
}

#endif // MSTREAM_TRANSFORMS_FUSION_PASSES_TD
