//===- FlashAttention.h - the attention kernels generated code calls -*- C++
//-*-===//
//
// The CPU backend's mstream.flash_attention and its gradient
// (mstream-attention-to-runtime). Per head n of N: q, k, v are T x Dh
// (f32, or bf16 bit patterns when `bf16` is 1), out and the gradients
// T x Dh f32, lse T f32. Each buffer is a byte address, a row stride and a
// head stride, in elements (an lse's row stride is 1). Causal: query i
// sees keys j <= i.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_FLASHATTENTION_H
#define MSTREAM_RUNTIME_FLASHATTENTION_H

#include <cstdint>

/// out = softmax(scale q kᵀ) v and lse = log sum exp(scale q kᵀ), per row.
extern "C" void mstream_flash_attention(int64_t bf16, int64_t heads,
                                        int64_t seq, int64_t dim, double scale,
                                        int64_t q, int64_t qLd, int64_t qStride,
                                        int64_t k, int64_t kLd, int64_t kStride,
                                        int64_t v, int64_t vLd, int64_t vStride,
                                        int64_t out, int64_t outLd,
                                        int64_t outStride, int64_t lse,
                                        int64_t lseLd, int64_t lseStride);

/// dq, dk, dv of the forward above, from its out and lse and the cotangent
/// dout of out (stored like q).
extern "C" void mstream_flash_attention_grad(
    int64_t bf16, int64_t heads, int64_t seq, int64_t dim, double scale,
    int64_t q, int64_t qLd, int64_t qStride, int64_t k, int64_t kLd,
    int64_t kStride, int64_t v, int64_t vLd, int64_t vStride, int64_t out,
    int64_t outLd, int64_t outStride, int64_t dout, int64_t doutLd,
    int64_t doutStride, int64_t lse, int64_t lseLd, int64_t lseStride,
    int64_t dq, int64_t dqLd, int64_t dqStride, int64_t dk, int64_t dkLd,
    int64_t dkStride, int64_t dv, int64_t dvLd, int64_t dvStride);

#endif // MSTREAM_RUNTIME_FLASHATTENTION_H
