//===- BlasBf16Test.cpp - mstream_gemm_bf16 on each of its kernels --------===//
//
// CTest runs this binary once per kernel (MSTREAM_BF16_GEMM=widen, onednn):
// both must give the f32 sums of the exact products of the bf16 operands.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/GemmCounters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

uint16_t toBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
  return uint16_t(bits >> 16);
}

double fromBf16(uint16_t value) {
  uint32_t bits = uint32_t(value) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

std::vector<uint16_t> random(int64_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<uint16_t> values(size);
  for (uint16_t &value : values)
    value = toBf16(uniform(gen));
  return values;
}

template <typename T> int64_t address(const std::vector<T> &data) {
  return reinterpret_cast<int64_t>(data.data());
}

struct Shape {
  int64_t batch, m, n, k;
  bool transA, transB, accumulate, sharedB;
};

class Bf16GemmTest : public ::testing::TestWithParam<Shape> {
protected:
  void SetUp() override {
    const char *asked = std::getenv("MSTREAM_BF16_GEMM");
    if (asked && std::string(asked) != mstream::rt::bf16GemmKernel())
      GTEST_SKIP() << "skipped: this runtime was built without oneDNN";
  }
};

// Padded leading dimensions and batch strides, both transpositions, an
// overwrite and an accumulation, a batch shorter than the pool (3 threads:
// each entry cut into parts) and one longer (whole entries per thread),
// and a weight shared by the batch (stride 0).
TEST_P(Bf16GemmTest, MatchesExactProductsSummedInDouble) {
  const Shape s = GetParam();
  int64_t aRows = s.transA ? s.k : s.m, aCols = s.transA ? s.m : s.k;
  int64_t bRows = s.transB ? s.n : s.k, bCols = s.transB ? s.k : s.n;
  int64_t lda = aCols + 2, ldb = bCols + 1, ldc = s.n + 3;
  int64_t strideA = aRows * lda, strideB = s.sharedB ? 0 : bRows * ldb,
          strideC = s.m * ldc;
  std::vector<uint16_t> A = random(s.batch * strideA, 1);
  std::vector<uint16_t> B =
      random(s.sharedB ? bRows * ldb : s.batch * strideB, 2);
  std::vector<float> C(s.batch * strideC, 0.5f);
  std::vector<double> expected(C.begin(), C.end());
  for (int64_t e = 0; e < s.batch; ++e)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = s.accumulate ? expected[e * strideC + i * ldc + j] : 0;
        for (int64_t p = 0; p < s.k; ++p)
          sum +=
              fromBf16(
                  A[e * strideA + (s.transA ? p * lda + i : i * lda + p)]) *
              fromBf16(B[e * strideB + (s.transB ? j * ldb + p : p * ldb + j)]);
        expected[e * strideC + i * ldc + j] = sum;
      }
  int64_t calls = mstream::rt::gemmCounters().calls;
  mstream_gemm_bf16(s.batch, s.transA, s.transB, s.m, s.n, s.k, address(A), lda,
                    strideA, address(B), ldb, strideB, address(C), ldc, strideC,
                    s.accumulate);
  EXPECT_GT(mstream::rt::gemmCounters().calls, calls);
  // f32 sums of k exact products of magnitude < 1 (k <= 300): within
  // 1e-5 of the largest entry, as for mstream_sgemm.
  double scale = 0;
  for (double value : expected)
    scale = std::max(scale, std::fabs(value));
  for (int64_t e = 0; e < s.batch; ++e)
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t at = e * strideC + i * ldc + j;
        ASSERT_NEAR(C[at], expected[at], 1e-5 * scale)
            << "entry " << e << " (" << i << ", " << j << ")";
      }
      // Padding between rows is never written.
      for (int64_t j = s.n; j < ldc && i + 1 < s.m; ++j)
        ASSERT_EQ(C[e * strideC + i * ldc + j], 0.5f);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Bf16GemmTest,
    ::testing::Values(Shape{1, 7, 5, 3, false, false, false, false},
                      Shape{1, 96, 80, 300, false, true, false, false},
                      Shape{1, 64, 72, 40, true, false, true, false},
                      Shape{2, 128, 64, 200, true, true, false, false},
                      Shape{5, 16, 24, 32, false, true, true, false},
                      Shape{4, 12, 20, 8, false, false, false, true}));

} // namespace
