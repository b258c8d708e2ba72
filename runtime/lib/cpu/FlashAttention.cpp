//===- FlashAttention.cpp - causal attention without the score matrix -----===//
//
// FlashAttention-2's algorithm on the CPU. Per head, each block of 64
// queries walks the 64-key blocks at or before it: the tile's scores are a
// BLAS product, their softmax is online (a running max and sum per query
// row, earlier partial outputs rescaled when the max grows), and the
// tile's probabilities multiply V at once. A thread holds one head's
// operands widened to f32 and one tile, never a T x T matrix. The backward
// recomputes each tile's probabilities from the forward's log-sum-exp and
// accumulates dq, dk and dv tile by tile.
//
// Written here rather than taken from a library: oneDNN's attention is a
// forward-only graph fusion, and the backward must match this forward's
// statistics. Heads run in parallel (mstream_parallel_for); each head's
// products run single-threaded in its task, on OpenBLAS's kernels.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/FlashAttention.h"
#include "Sgemm.h"
#include "mstream/Runtime/BlasCore.h"
#include "mstream/Runtime/Parallel.h"

#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace {

constexpr int64_t kBlock = 64;

/// One operand as the generated code passes it.
struct Operand {
  int64_t address, ld, stride;
  float *f32(int64_t head) const {
    return reinterpret_cast<float *>(address) + head * stride;
  }
};

/// Head `head`'s rows x cols of `from` (f32, or bf16 bits when `bf16`),
/// widened into the contiguous `to`. bf16 is f32's upper half: exact.
void load(const Operand &from, bool bf16, int64_t head, int64_t rows,
          int64_t cols, float *to) {
  if (!bf16) {
    const float *base = from.f32(head);
    for (int64_t i = 0; i < rows; ++i)
      std::memcpy(to + i * cols, base + i * from.ld, cols * sizeof(float));
    return;
  }
  const auto *base =
      reinterpret_cast<const uint16_t *>(from.address) + head * from.stride;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      uint32_t bits = uint32_t(base[i * from.ld + j]) << 16;
      std::memcpy(to + i * cols + j, &bits, sizeof(float));
    }
}

/// exp(x) for the shifted scores (x <= 0 up to rounding), with Cephes'
/// single-precision polynomial: about 2 ulp, in code the compiler
/// vectorises with the baseline's SSE2 (libm's expf is a call per element;
/// floor is an instruction only from SSE4.1, so n = floor(x log2 e + 1/2)
/// truncates a positive shift of it instead). Below -87 it returns 2^-126
/// at most, not 0: the callers zero masked entries themselves.
inline float fastExp(float x) {
  // Selects, vectorised under -fno-trapping-math (CMakeLists.txt).
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  int32_t n = int32_t(x * 1.44269504088896341f + 128.5f) - 128;
  float fn = float(n);
  float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  uint32_t bits = uint32_t(n + 127) << 23;
  float power;
  std::memcpy(&power, &bits, sizeof(float));
  return e * power;
}

// The row loops below, compiled also for AVX2 and AVX-512 and picked when
// the library loads (the runtime's baseline is SSE2): their exp is most of
// a forward's time outside the products.
#if defined(__x86_64__) && defined(__GNUC__)
#define MSTREAM_ROW_LOOP                                                       \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MSTREAM_ROW_LOOP
#endif

// Reductions in 16 independent lanes: the compiler keeps a float sum or
// max in program order (no -ffast-math), which no vector can do.
constexpr int64_t kLanes = 16;

/// max(start, row[0], ..., row[count - 1]).
MSTREAM_ROW_LOOP float maxOf(const float *row, int64_t count, float start) {
  float lanes[kLanes];
  std::fill_n(lanes, kLanes, start);
  int64_t c = 0;
  for (; c + kLanes <= count; c += kLanes)
    for (int64_t j = 0; j < kLanes; ++j)
      lanes[j] = row[c + j] > lanes[j] ? row[c + j] : lanes[j];
  float max = start;
  for (int64_t j = 0; j < kLanes; ++j)
    max = lanes[j] > max ? lanes[j] : max;
  for (; c < count; ++c)
    max = row[c] > max ? row[c] : max;
  return max;
}

/// row[c] = exp(row[c] - shift) for c < count; returns their sum.
MSTREAM_ROW_LOOP float expRow(float *row, int64_t count, float shift) {
  float lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= count; c += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      row[c + j] = fastExp(row[c + j] - shift);
      lanes[j] += row[c + j];
    }
  float sum = 0.0f;
  for (; c < count; ++c) {
    row[c] = fastExp(row[c] - shift);
    sum += row[c];
  }
  for (int64_t j = 0; j < kLanes; ++j)
    sum += lanes[j];
  return sum;
}

/// C (m x n, ldc) = alpha op(A) op(B) + beta C, row-major.
void gemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
          float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
          float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

/// The scaled scores of queries [q0, q0 + rows) against keys
/// [k0, k0 + cols) into `s` (kBlock columns); keys after their query get
/// -inf.
void scores(const float *q, const float *k, int64_t dim, int64_t q0,
            int64_t rows, int64_t k0, int64_t cols, float scale, float *s) {
  gemm(false, true, rows, cols, dim, scale, q + q0 * dim, dim, k + k0 * dim,
       dim, 0.0f, s, kBlock);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = std::max<int64_t>(q0 + r - k0 + 1, 0); c < cols; ++c)
      s[r * kBlock + c] = -std::numeric_limits<float>::infinity();
}

struct Problem {
  bool bf16;
  int64_t seq, dim;
  float scale;
  Operand q, k, v, out, dout, lse, dq, dk, dv;
};

/// `value` rounded to the nearest bf16 (ties to even), as an f32.
inline float roundToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&value, &bits, sizeof(bits));
  return value;
}

/// Each probability of the tile rounded to bf16 (the bf16 policy's
/// operand of a product).
void roundTile(float *tile, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      tile[r * kBlock + c] = roundToBf16(tile[r * kBlock + c]);
}

/// exp(scores - shift[r]) over the tile's visible entries, 0 over the rest
/// (the keys after their query); each row's sum into `sums`.
void probabilities(float *tile, int64_t q0, int64_t rows, int64_t k0,
                   int64_t cols, const float *shift, float *sums) {
  for (int64_t r = 0; r < rows; ++r) {
    float *row = tile + r * kBlock;
    int64_t visible = std::min(cols, q0 + r - k0 + 1);
    sums[r] = expRow(row, visible, shift[r]);
    std::fill(row + visible, row + cols, 0.0f);
  }
}

/// One head's block of queries [q0, q0 + rows), f32: one pass over the key
/// blocks, the softmax online.
void forwardOnline(const Problem &p, const float *q, const float *k,
                   const float *v, float *out, float *lse, int64_t q0,
                   int64_t rows, float *s) {
  int64_t dim = p.dim;
  float runningMax[kBlock], runningSum[kBlock];
  std::fill_n(runningMax, rows, -std::numeric_limits<float>::infinity());
  std::fill_n(runningSum, rows, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    std::fill_n(out + (q0 + r) * p.out.ld, dim, 0.0f);
  // Keys up to the block's last query.
  for (int64_t k0 = 0; k0 < q0 + rows; k0 += kBlock) {
    int64_t cols = std::min(kBlock, p.seq - k0);
    scores(q, k, dim, q0, rows, k0, cols, p.scale, s);
    float max[kBlock], sum[kBlock];
    // The first tile has key 0, which every query sees: max is finite.
    for (int64_t r = 0; r < rows; ++r)
      max[r] = maxOf(s + r * kBlock, cols, runningMax[r]);
    probabilities(s, q0, rows, k0, cols, max, sum);
    for (int64_t r = 0; r < rows; ++r) {
      float rescale = fastExp(runningMax[r] - max[r]);
      runningSum[r] = runningSum[r] * rescale + sum[r];
      runningMax[r] = max[r];
      float *o = out + (q0 + r) * p.out.ld;
      for (int64_t j = 0; j < dim; ++j)
        o[j] *= rescale;
    }
    gemm(false, false, rows, dim, cols, 1.0f, s, kBlock, v + k0 * dim, dim,
         1.0f, out + q0 * p.out.ld, p.out.ld);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float inverse = 1.0f / runningSum[r];
    float *o = out + (q0 + r) * p.out.ld;
    for (int64_t j = 0; j < dim; ++j)
      o[j] *= inverse;
    lse[(q0 + r) * p.lse.ld] = runningMax[r] + std::log(runningSum[r]);
  }
}

/// The same block under the bf16 policy, which rounds the normalised
/// probabilities P before they multiply V: the online pass's partial
/// probabilities are relative to a max and sum not yet final, so a first
/// pass finds each row's log-sum-exp and a second forms P = exp(s - lse),
/// rounds it and multiplies.
void forwardRounded(const Problem &p, const float *q, const float *k,
                    const float *v, float *out, float *lse, int64_t q0,
                    int64_t rows, float *s) {
  int64_t dim = p.dim;
  float runningMax[kBlock], runningSum[kBlock], max[kBlock], sum[kBlock];
  std::fill_n(runningMax, rows, -std::numeric_limits<float>::infinity());
  std::fill_n(runningSum, rows, 0.0f);
  for (int64_t k0 = 0; k0 < q0 + rows; k0 += kBlock) {
    int64_t cols = std::min(kBlock, p.seq - k0);
    scores(q, k, dim, q0, rows, k0, cols, p.scale, s);
    for (int64_t r = 0; r < rows; ++r)
      max[r] = maxOf(s + r * kBlock, cols, runningMax[r]);
    probabilities(s, q0, rows, k0, cols, max, sum);
    for (int64_t r = 0; r < rows; ++r) {
      runningSum[r] = runningSum[r] * fastExp(runningMax[r] - max[r]) + sum[r];
      runningMax[r] = max[r];
    }
  }
  float *shift = max;
  for (int64_t r = 0; r < rows; ++r) {
    shift[r] = runningMax[r] + std::log(runningSum[r]);
    lse[(q0 + r) * p.lse.ld] = shift[r];
  }
  for (int64_t k0 = 0; k0 < q0 + rows; k0 += kBlock) {
    int64_t cols = std::min(kBlock, p.seq - k0);
    scores(q, k, dim, q0, rows, k0, cols, p.scale, s);
    probabilities(s, q0, rows, k0, cols, shift, sum);
    roundTile(s, rows, cols);
    gemm(false, false, rows, dim, cols, 1.0f, s, kBlock, v + k0 * dim, dim,
         k0 == 0 ? 0.0f : 1.0f, out + q0 * p.out.ld, p.out.ld);
  }
}

void forwardHeads(void *context, int64_t begin, int64_t end) {
  const Problem &p = *static_cast<const Problem *>(context);
  int64_t t = p.seq, dim = p.dim;
  std::vector<float> q(t * dim), k(t * dim), v(t * dim), s(kBlock * kBlock);
  for (int64_t head = begin; head < end; ++head) {
    load(p.q, p.bf16, head, t, dim, q.data());
    load(p.k, p.bf16, head, t, dim, k.data());
    load(p.v, p.bf16, head, t, dim, v.data());
    for (int64_t q0 = 0; q0 < t; q0 += kBlock) {
      int64_t rows = std::min(kBlock, t - q0);
      (p.bf16 ? forwardRounded
              : forwardOnline)(p, q.data(), k.data(), v.data(), p.out.f32(head),
                               p.lse.f32(head), q0, rows, s.data());
    }
  }
}

/// One head's P v with P = exp(scale q kᵀ - lse) unrounded, into the
/// contiguous `out`.
void unroundedOutput(const Problem &p, const float *q, const float *k,
                     const float *v, const float *lse, float *tile,
                     float *out) {
  float sums[kBlock];
  for (int64_t q0 = 0; q0 < p.seq; q0 += kBlock) {
    int64_t rows = std::min(kBlock, p.seq - q0);
    for (int64_t k0 = 0; k0 < q0 + rows; k0 += kBlock) {
      int64_t cols = std::min(kBlock, p.seq - k0);
      scores(q, k, p.dim, q0, rows, k0, cols, p.scale, tile);
      probabilities(tile, q0, rows, k0, cols, lse + q0, sums);
      gemm(false, false, rows, p.dim, cols, 1.0f, tile, kBlock, v + k0 * p.dim,
           p.dim, k0 == 0 ? 0.0f : 1.0f, out + q0 * p.dim, p.dim);
    }
  }
}

void backwardHeads(void *context, int64_t begin, int64_t end) {
  const Problem &p = *static_cast<const Problem *>(context);
  int64_t t = p.seq, dim = p.dim;
  std::vector<float> q(t * dim), k(t * dim), v(t * dim), dout(t * dim),
      out(t * dim), lse(t), delta(t), probs(kBlock * kBlock),
      dScores(kBlock * kBlock);
  for (int64_t head = begin; head < end; ++head) {
    load(p.q, p.bf16, head, t, dim, q.data());
    load(p.k, p.bf16, head, t, dim, k.data());
    load(p.v, p.bf16, head, t, dim, v.data());
    load(p.dout, p.bf16, head, t, dim, dout.data());
    for (int64_t i = 0; i < t; ++i)
      lse[i] = p.lse.f32(head)[i * p.lse.ld];
    if (!p.bf16)
      load(p.out, false, head, t, dim, out.data());
    float *dq = p.dq.f32(head), *dk = p.dk.f32(head), *dv = p.dv.f32(head);
    // rowsum(dP ∘ P) = dout_i · (P v)_i: one dot product per query with
    // the forward's output, except under the bf16 policy, whose output
    // multiplied rounded probabilities: P v is formed again unrounded.
    if (p.bf16)
      unroundedOutput(p, q.data(), k.data(), v.data(), lse.data(), probs.data(),
                      out.data());
    for (int64_t i = 0; i < t; ++i) {
      float dot = 0.0f;
      for (int64_t j = 0; j < dim; ++j)
        dot += dout[i * dim + j] * out[i * dim + j];
      delta[i] = dot;
    }
    for (int64_t i = 0; i < t; ++i) {
      std::fill_n(dq + i * p.dq.ld, dim, 0.0f);
      std::fill_n(dk + i * p.dk.ld, dim, 0.0f);
      std::fill_n(dv + i * p.dv.ld, dim, 0.0f);
    }
    for (int64_t k0 = 0; k0 < t; k0 += kBlock) {
      int64_t cols = std::min(kBlock, t - k0);
      // Queries from the key block's first on see some of its keys.
      for (int64_t q0 = k0; q0 < t; q0 += kBlock) {
        int64_t rows = std::min(kBlock, t - q0);
        scores(q.data(), k.data(), dim, q0, rows, k0, cols, p.scale,
               probs.data());
        float sums[kBlock];
        probabilities(probs.data(), q0, rows, k0, cols, lse.data() + q0, sums);
        // dP = dout vᵀ; dS = scale P (dP - delta), from P unrounded.
        gemm(false, true, rows, cols, dim, 1.0f, dout.data() + q0 * dim, dim,
             v.data() + k0 * dim, dim, 0.0f, dScores.data(), kBlock);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            float &ds = dScores[r * kBlock + c];
            ds = p.scale * probs[r * kBlock + c] * (ds - delta[q0 + r]);
          }
        // The bf16 policy rounds each gradient product's operands: P for
        // dv, dS for dq and dk (dout, q, k and v are bf16 already).
        if (p.bf16) {
          roundTile(probs.data(), rows, cols);
          roundTile(dScores.data(), rows, cols);
        }
        // dv += Pᵀ dout; dq += dS k; dk += dSᵀ q.
        gemm(true, false, cols, dim, rows, 1.0f, probs.data(), kBlock,
             dout.data() + q0 * dim, dim, 1.0f, dv + k0 * p.dv.ld, p.dv.ld);
        gemm(false, false, rows, dim, cols, 1.0f, dScores.data(), kBlock,
             k.data() + k0 * dim, dim, 1.0f, dq + q0 * p.dq.ld, p.dq.ld);
        gemm(true, false, cols, dim, rows, 1.0f, dScores.data(), kBlock,
             q.data() + q0 * dim, dim, 1.0f, dk + k0 * p.dk.ld, p.dk.ld);
      }
    }
  }
}

/// The rows x keys of one head's tiles, the area each of the kernels'
/// tile products covers: each block of queries against the key blocks up
/// to its own.
int64_t tileArea(int64_t seq) {
  int64_t area = 0;
  for (int64_t q0 = 0; q0 < seq; q0 += kBlock)
    area += std::min(kBlock, seq - q0) * std::min(seq, q0 + kBlock);
  return area;
}

} // namespace

extern "C" void mstream_flash_attention(int64_t bf16, int64_t heads,
                                        int64_t seq, int64_t dim, double scale,
                                        int64_t q, int64_t qLd, int64_t qStride,
                                        int64_t k, int64_t kLd, int64_t kStride,
                                        int64_t v, int64_t vLd, int64_t vStride,
                                        int64_t out, int64_t outLd,
                                        int64_t outStride, int64_t lse,
                                        int64_t lseLd, int64_t lseStride) {
  Problem p{bf16 != 0,
            seq,
            dim,
            float(scale),
            {q, qLd, qStride},
            {k, kLd, kStride},
            {v, vLd, vStride},
            {out, outLd, outStride},
            {},
            {lse, lseLd, lseStride},
            {},
            {},
            {}};
  // OpenBLAS's kernels chosen before its first product (BlasCore.h).
  mstream::rt::blasCore();
  // Counted with the GEMMs (GemmCounters.h): scores and P v per tile, and
  // the scores once more under bf16.
  mstream::rt::countedGemm(heads * dim * tileArea(seq) * (p.bf16 ? 3 : 2), [&] {
    mstream_parallel_for(0, heads, forwardHeads, &p);
  });
}

extern "C" void mstream_flash_attention_grad(
    int64_t bf16, int64_t heads, int64_t seq, int64_t dim, double scale,
    int64_t q, int64_t qLd, int64_t qStride, int64_t k, int64_t kLd,
    int64_t kStride, int64_t v, int64_t vLd, int64_t vStride, int64_t out,
    int64_t outLd, int64_t outStride, int64_t dout, int64_t doutLd,
    int64_t doutStride, int64_t lse, int64_t lseLd, int64_t lseStride,
    int64_t dq, int64_t dqLd, int64_t dqStride, int64_t dk, int64_t dkLd,
    int64_t dkStride, int64_t dv, int64_t dvLd, int64_t dvStride) {
  Problem p{bf16 != 0,
            seq,
            dim,
            float(scale),
            {q, qLd, qStride},
            {k, kLd, kStride},
            {v, vLd, vStride},
            {out, outLd, outStride},
            {dout, doutLd, doutStride},
            {lse, lseLd, lseStride},
            {dq, dqLd, dqStride},
            {dk, dkLd, dkStride},
            {dv, dvLd, dvStride}};
  mstream::rt::blasCore();
  // Scores, dP, dv, dq and dk per tile, and P v again under bf16.
  mstream::rt::countedGemm(heads * dim * tileArea(seq) * (p.bf16 ? 7 : 5), [&] {
    mstream_parallel_for(0, heads, backwardHeads, &p);
  });
}
