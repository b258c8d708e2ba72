//===- FlashAttentionTest.cpp - the runtime's flash attention kernels -----===//
//
// Against attention computed in double with the whole score matrix: a
// sequence of 150 (two full 64-blocks and a partial one, so the diagonal
// and the ragged edge both occur), rows padded (ld > Dh) and heads apart
// (stride > T * ld), f32 and bf16 inputs. With bf16 inputs the reference
// follows the bf16 policy (docs/precision.md): the normalised
// probabilities are rounded before they multiply v and dout, and dS
// before it multiplies k and q.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/FlashAttention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

constexpr int64_t kHeads = 3, kSeq = 150, kDim = 16;
constexpr int64_t kLd = kDim + 3, kStride = kSeq * kLd + 5;
const double kScale = 1.0 / std::sqrt(double(kDim));

int64_t address(const void *data) { return reinterpret_cast<int64_t>(data); }

/// Head-major [heads][seq][ld] values in [-2, 2), the padding NaN so that a
/// kernel reading it shows.
std::vector<float> random(unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> values(kHeads * kStride, std::nanf(""));
  for (int64_t h = 0; h < kHeads; ++h)
    for (int64_t i = 0; i < kSeq; ++i)
      for (int64_t j = 0; j < kDim; ++j)
        values[h * kStride + i * kLd + j] = uniform(gen);
  return values;
}

/// `value` rounded to the nearest bf16 (ties to even), as bits.
uint16_t bf16Bits(float value) {
  uint32_t word;
  std::memcpy(&word, &value, sizeof(word));
  word += 0x7fff + ((word >> 16) & 1);
  return uint16_t(word >> 16);
}

double roundToBf16(double value) {
  uint32_t word = uint32_t(bf16Bits(float(value))) << 16;
  float rounded;
  std::memcpy(&rounded, &word, sizeof(rounded));
  return rounded;
}

/// `values` rounded to bf16 in place; returns their bits (NaN padding
/// stays NaN).
std::vector<uint16_t> toBf16(std::vector<float> &values) {
  std::vector<uint16_t> bits(values.size(), 0x7fc0);
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isnan(values[i])) {
      bits[i] = bf16Bits(values[i]);
      values[i] = float(roundToBf16(values[i]));
    }
  return bits;
}

double at(const std::vector<float> &m, int64_t h, int64_t i, int64_t j) {
  return m[h * kStride + i * kLd + j];
}

/// Every output of the kernels, in double, for head h.
struct Expected {
  std::vector<double> out, lse, dq, dk, dv;
};

Expected reference(const std::vector<float> &q, const std::vector<float> &k,
                   const std::vector<float> &v, const std::vector<float> &dout,
                   int64_t h, bool rounded) {
  auto round = [&](double x) { return rounded ? roundToBf16(x) : x; };
  Expected e;
  std::vector<double> p(kSeq * kSeq, 0.0), ds(kSeq * kSeq, 0.0);
  for (int64_t i = 0; i < kSeq; ++i) {
    double max = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int64_t d = 0; d < kDim; ++d)
        s += at(q, h, i, d) * at(k, h, j, d);
      p[i * kSeq + j] = s * kScale;
      max = std::max(max, p[i * kSeq + j]);
    }
    for (int64_t j = 0; j <= i; ++j)
      sum += p[i * kSeq + j] = std::exp(p[i * kSeq + j] - max);
    for (int64_t j = 0; j <= i; ++j)
      p[i * kSeq + j] /= sum;
    e.lse.push_back(max + std::log(sum));
    // dS = scale P (dP - rowsum(dP P)), dP = dout vᵀ, from P unrounded.
    double delta = 0.0;
    for (int64_t j = 0; j <= i; ++j) {
      double dp = 0.0;
      for (int64_t d = 0; d < kDim; ++d)
        dp += at(dout, h, i, d) * at(v, h, j, d);
      ds[i * kSeq + j] = dp;
      delta += dp * p[i * kSeq + j];
    }
    for (int64_t j = 0; j <= i; ++j)
      ds[i * kSeq + j] = kScale * p[i * kSeq + j] * (ds[i * kSeq + j] - delta);
  }
  for (int64_t i = 0; i < kSeq; ++i)
    for (int64_t d = 0; d < kDim; ++d) {
      double o = 0.0, gq = 0.0, gk = 0.0, gv = 0.0;
      for (int64_t j = 0; j < kSeq; ++j) {
        o += round(p[i * kSeq + j]) * at(v, h, j, d);
        gq += round(ds[i * kSeq + j]) * at(k, h, j, d);
        gk += round(ds[j * kSeq + i]) * at(q, h, j, d);
        gv += round(p[j * kSeq + i]) * at(dout, h, j, d);
      }
      e.out.push_back(o);
      e.dq.push_back(gq);
      e.dk.push_back(gk);
      e.dv.push_back(gv);
    }
  return e;
}

/// Relative L2 distance of head h's rows of `actual` (ld kLd) from
/// `expected` (contiguous).
double distance(const std::vector<float> &actual, int64_t h,
                const std::vector<double> &expected, int64_t cols, int64_t ld,
                int64_t stride) {
  double error = 0.0, norm = 0.0;
  for (int64_t i = 0; i < kSeq; ++i)
    for (int64_t d = 0; d < cols; ++d) {
      double x = expected[i * cols + d];
      double diff = actual[h * stride + i * ld + d] - x;
      error += diff * diff;
      norm += x * x;
    }
  return std::sqrt(error / norm);
}

struct Outputs {
  std::vector<float> out = std::vector<float>(kHeads * kStride),
                     lse = std::vector<float>(kHeads * kSeq),
                     dq = std::vector<float>(kHeads * kStride),
                     dk = std::vector<float>(kHeads * kStride),
                     dv = std::vector<float>(kHeads * kStride);

  /// The largest relative distance of any output from `e`.
  double distance(int64_t h, const Expected &e) const {
    return std::max({::distance(out, h, e.out, kDim, kLd, kStride),
                     ::distance(lse, h, e.lse, 1, 1, kSeq),
                     ::distance(dq, h, e.dq, kDim, kLd, kStride),
                     ::distance(dk, h, e.dk, kDim, kLd, kStride),
                     ::distance(dv, h, e.dv, kDim, kLd, kStride)});
  }
};

Outputs run(bool bf16, std::vector<float> &q, std::vector<float> &k,
            std::vector<float> &v, std::vector<float> &dout) {
  std::vector<uint16_t> qb, kb, vb, doutb;
  if (bf16) {
    qb = toBf16(q);
    kb = toBf16(k);
    vb = toBf16(v);
    doutb = toBf16(dout);
  }
  auto of = [&](const std::vector<float> &f, const std::vector<uint16_t> &b) {
    return bf16 ? address(b.data()) : address(f.data());
  };
  Outputs o;
  mstream_flash_attention(bf16, kHeads, kSeq, kDim, kScale, of(q, qb), kLd,
                          kStride, of(k, kb), kLd, kStride, of(v, vb), kLd,
                          kStride, address(o.out.data()), kLd, kStride,
                          address(o.lse.data()), 1, kSeq);
  mstream_flash_attention_grad(
      bf16, kHeads, kSeq, kDim, kScale, of(q, qb), kLd, kStride, of(k, kb), kLd,
      kStride, of(v, vb), kLd, kStride, address(o.out.data()), kLd, kStride,
      of(dout, doutb), kLd, kStride, address(o.lse.data()), 1, kSeq,
      address(o.dq.data()), kLd, kStride, address(o.dk.data()), kLd, kStride,
      address(o.dv.data()), kLd, kStride);
  return o;
}

// f32: the kernels' exp is within about 2 ulp and their sums run over at
// most 150 terms in f32, so every output is within ~1e-6 relative of
// double (observed: 3e-7); 1e-5 leaves room, and a wrong mask, block
// edge or rescale is off by 1e-2 or more.
TEST(FlashAttention, F32MatchesDouble) {
  std::vector<float> q = random(1), k = random(2), v = random(3),
                     dout = random(4);
  Outputs o = run(false, q, k, v, dout);
  for (int64_t h = 0; h < kHeads; ++h)
    EXPECT_LT(o.distance(h, reference(q, k, v, dout, h, false)), 1e-5)
        << "head " << h;
}

// bf16: the same f32 arithmetic on the rounded inputs, plus the policy's
// roundings of P and dS, which f32 and double may round to neighbouring
// bf16 values where an element lies within float32's error of a rounding
// boundary (a few of ~10^5 elements); 1e-4 bounds those (observed:
// 9e-8 to 9e-6). Not rounding (the f32 kernel's math on bf16 inputs) is
// ~2e-3 away: the test also requires the kernels to be 5x closer to the
// policy than to that.
TEST(FlashAttention, Bf16FollowsThePolicy) {
  std::vector<float> q = random(1), k = random(2), v = random(3),
                     dout = random(4);
  Outputs o = run(true, q, k, v, dout);
  for (int64_t h = 0; h < kHeads; ++h) {
    double policy = o.distance(h, reference(q, k, v, dout, h, true));
    double unrounded = o.distance(h, reference(q, k, v, dout, h, false));
    EXPECT_LT(policy, 1e-4) << "head " << h;
    EXPECT_GT(unrounded, 5 * policy) << "head " << h;
  }
}

} // namespace
