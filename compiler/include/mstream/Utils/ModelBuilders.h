//===- ModelBuilders.h - model pieces of lowering, VJPs ---------*- C++ -*-===//
//
// Forward pieces of the oracle ops that both the lowering and the
// vector-Jacobian products build (the VJPs rematerialise what they need
// rather than keeping forward intermediates alive).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_LIB_MODELBUILDERS_H
#define MSTREAM_PASSES_LIB_MODELBUILDERS_H

#include "LinalgBuilders.h"

namespace mstream::lowering {

/// Per-row LayerNorm statistics over the last axis (two-pass variance):
/// the mean and invStd = 1 / sqrt(var + eps).
struct RowStats {
  Value mean;
  Value invStd;
};
RowStats buildRowStats(OpBuilder &b, Location loc, Value x, double eps);

/// LayerNorm without its gain, x̂ = (x - mean) * invStd, with invStd.
struct Normalized {
  Value normalized;
  Value invStd;
};
Normalized buildNormalize(OpBuilder &b, Location loc, Value x, double eps);

/// w * x̂.
Value buildLayerNorm(OpBuilder &b, Location loc, Value x, Value gain,
                     double eps);

/// `[B, T, d]` -> `[B*T, d]`.
Value flattenTokens(OpBuilder &b, Location loc, Value x);

/// Chunk `chunk` of `chunks` contiguous d-chunks of `[B*T, chunks*d]` (q, k,
/// v of a qkv product when chunks = 3), per head: `[B*H, T, Dh]`.
Value splitHeads(OpBuilder &b, Location loc, Value flat, int64_t batch,
                 int64_t heads, int64_t chunk, int64_t chunks = 3);
/// `[B*H, T, Dh]` per-head values back to `[B*T, d]`.
Value mergeHeads(OpBuilder &b, Location loc, Value perHead, int64_t batch,
                 int64_t heads);
/// Inverse of splitHeads for all three chunks: `[B*T, 3d]`.
Value joinQkv(OpBuilder &b, Location loc, Value q, Value k, Value v,
              int64_t batch, int64_t heads);

/// Causal softmax of `scale * scores` over the last axis of `[N, T, T]`;
/// keys after the query get probability exactly 0. Also each row's max of
/// the scaled scores and sum of exp(scaled - max), for its log-sum-exp.
struct CausalSoftmax {
  Value probs, rowMax, rowSum;
};
CausalSoftmax buildCausalSoftmax(OpBuilder &b, Location loc, Value scores,
                                 double scale);

/// `1 / sqrt(Dh)`, attention's score scale for `heads` heads of `x`'s width.
double attentionScale(Value x, int64_t heads);

/// Attention's forward up to the merged heads (before W_o), keeping what
/// its VJP needs: the flattened input, per-head q, k, v, and the
/// mstream.flash_attention op's per-head context and log-sum-exp.
struct AttentionForward {
  Value input, q, k, v, context, lse, merged;
};
AttentionForward buildAttentionForward(OpBuilder &b, Location loc, Value x,
                                       Value wQkv, int64_t heads);

/// Per row of `[N, V]` logits: the max and the sum of exp(logit - max).
struct LogSumExp {
  Value rowMax;
  Value rowSum;
};
LogSumExp buildLogSumExp(OpBuilder &b, Location loc, Value logits);

/// The exact GELU x Φ(x), and its derivative Φ(x) + x φ(x).
Value gelu(OpBuilder &b, Location loc, Value x);
Value geluDerivative(OpBuilder &b, Location loc, Value x);

} // namespace mstream::lowering

#endif // MSTREAM_PASSES_LIB_MODELBUILDERS_H
