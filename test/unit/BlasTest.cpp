//===- BlasTest.cpp - mstream_sgemm, including its ssyrk paths ------------===//

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/GemmCounters.h"
#include "mstream/Runtime/Parallel.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

/// Row-major m x n with leading dimension ld, entries in [-1, 1).
std::vector<float> random(int64_t rows, int64_t ld, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(rows * ld);
  for (float &value : values)
    value = uniform(gen);
  return values;
}

int64_t address(const float *data) { return reinterpret_cast<int64_t>(data); }

/// C += op(A) op(B) in double, for comparison.
std::vector<double> reference(bool transA, bool transB, int64_t m, int64_t n,
                              int64_t k, const std::vector<float> &A,
                              int64_t lda, const std::vector<float> &B,
                              int64_t ldb, const std::vector<float> &C,
                              int64_t ldc) {
  std::vector<double> out(C.begin(), C.end());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        out[i * ldc + j] += double(transA ? A[p * lda + i] : A[i * lda + p]) *
                            double(transB ? B[j * ldb + p] : B[p * ldb + j]);
  return out;
}

/// fp32 products of k terms of magnitude < 1 against a double reference:
/// relative to the largest entry, 1e-5 covers k up to a few hundred.
void expectNear(const std::vector<float> &actual,
                const std::vector<double> &expected) {
  double scale = 0;
  for (double value : expected)
    scale = std::max(scale, std::fabs(value));
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], 1e-5 * scale) << "entry " << i;
}

std::vector<float> symmetrised(std::vector<float> matrix, int64_t n,
                               int64_t ld) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j)
      matrix[i * ld + j] = matrix[j * ld + i];
  return matrix;
}

// Self-products of at least 2^20 multiply-adds take the ssyrk paths, and
// smaller ones are GEMMs; the tests of those paths use sizes above it.
TEST(SgemmTest, GramOfRowsAndColumns) {
  // A per-token Gram of 8 heads (a GEMM) and a large one (ssyrk).
  for (auto [m, k] : {std::pair<int64_t, int64_t>{64, 8}, {104, 100}})
    for (bool transA : {false, true}) {
      int64_t rows = transA ? k : m, lda = (transA ? m : k) + 3;
      std::vector<float> A = random(rows, lda, 1);
      std::vector<float> C = symmetrised(random(m, m + 1, 2), m, m + 1);
      auto expected =
          reference(transA, !transA, m, m, k, A, lda, A, lda, C, m + 1);
      mstream_sgemm(1, transA, !transA, m, m, k, address(A.data()), lda, 0,
                    address(A.data()), lda, 0, address(C.data()), m + 1, 0,
                    /*accumulate=*/1);
      expectNear(C, expected);
    }
}

TEST(SgemmTest, SelfProductsThatAreNotGramsUseTheGemm) {
  const int64_t n = 104;
  // A A: ssyrk would compute A Aᵀ.
  std::vector<float> A = random(n, n, 4);
  std::vector<float> C(n * n, 0.0f);
  auto expected = reference(false, false, n, n, n, A, n, A, n, C, n);
  mstream_sgemm(1, 0, 0, n, n, n, address(A.data()), n, 0, address(A.data()), n,
                0, address(C.data()), n, 0, /*accumulate=*/1);
  expectNear(C, expected);
  // A Aᵀ accumulated into a C that is not symmetric.
  std::vector<float> D = random(n, n, 5);
  expected = reference(false, true, n, n, n, A, n, A, n, D, n);
  mstream_sgemm(1, 0, 1, n, n, n, address(A.data()), n, 0, address(A.data()), n,
                0, address(D.data()), n, 0, /*accumulate=*/1);
  expectNear(D, expected);
}

TEST(SgemmTest, BatchedGramsWithStrides) {
  const int64_t batch = 3, m = 8, k = 12;
  std::vector<float> A = random(batch * m, k, 6);
  std::vector<float> C(batch * m * m, 0.0f);
  std::vector<float> expected;
  for (int64_t i = 0; i < batch; ++i) {
    std::vector<float> Ai(A.begin() + i * m * k, A.begin() + (i + 1) * m * k);
    auto one = reference(false, true, m, m, k, Ai, k, Ai, k,
                         std::vector<float>(m * m, 0.0f), m);
    expected.insert(expected.end(), one.begin(), one.end());
  }
  mstream_sgemm(batch, 0, 1, m, m, k, address(A.data()), k, m * k,
                address(A.data()), k, m * k, address(C.data()), m, m * m,
                /*accumulate=*/1);
  expectNear(C, std::vector<double>(expected.begin(), expected.end()));
}

TEST(SgemmTest, BatchEntriesRunOnThePoolIndependently) {
  // More entries than the pool has threads: they run in parallel, each on
  // its own operands.
  const int64_t batch = 13, m = 9, n = 9, k = 20;
  for (bool transA : {false, true}) {
    int64_t lda = transA ? m : k;
    std::vector<float> A = random(batch * k, m, 10);
    std::vector<float> B = random(batch * k, n, 11);
    std::vector<float> C = random(batch * m, n, 12);
    std::vector<double> expected;
    for (int64_t i = 0; i < batch; ++i) {
      auto slice = [&](const std::vector<float> &x, int64_t size) {
        return std::vector<float>(x.begin() + i * size,
                                  x.begin() + (i + 1) * size);
      };
      auto one = reference(transA, false, m, n, k, slice(A, m * k), lda,
                           slice(B, k * n), n, slice(C, m * n), n);
      expected.insert(expected.end(), one.begin(), one.end());
    }
    mstream_sgemm(batch, transA, 0, m, n, k, address(A.data()), lda, m * k,
                  address(B.data()), n, k * n, address(C.data()), n, m * n,
                  /*accumulate=*/1);
    expectNear(C, expected);
  }
}

TEST(SgemmTest, OverwriteIgnoresWhatCHeld) {
  // accumulate 0: C = op(A) op(B), whatever C held (here NaN), through the
  // GEMM and through both ssyrk paths (X Xᵀ and Xᵀ X).
  const int64_t n = 104, k = 100;
  std::vector<float> A = random(n, k, 7), B = random(k, n, 8);
  std::vector<float> T = random(k, n, 9);
  const std::vector<float> zeros(n * n, 0.0f);
  struct Case {
    bool transA, transB;
    const std::vector<float> &lhs, &rhs;
    int64_t lda, ldb;
  } cases[] = {{false, false, A, B, k, n},
               {false, true, A, A, k, k},
               {true, false, T, T, n, n}};
  for (const Case &c : cases) {
    std::vector<float> C(n * n, std::nanf(""));
    auto expected = reference(c.transA, c.transB, n, n, k, c.lhs, c.lda, c.rhs,
                              c.ldb, zeros, n);
    mstream_sgemm(1, c.transA, c.transB, n, n, k, address(c.lhs.data()), c.lda,
                  0, address(c.rhs.data()), c.ldb, 0, address(C.data()), n, 0,
                  /*accumulate=*/0);
    expectNear(C, expected);
  }
}

// Products are cut over the pool's threads into parts of at least 2^20
// multiply-adds (CMakeLists.txt runs this binary with 3, and these are cut
// in 3 uneven parts): rows of C, or its columns when it is wider than
// tall; OpenBLAS's own thread count is left as it was.
TEST(SgemmTest, LargeProductsAreCutOverThePool) {
  int blas = openblas_get_num_threads();
  struct Case {
    int64_t m, n, k;
  } cases[] = {{150, 90, 256}, {12, 500, 600}};
  for (const Case &c : cases)
    for (bool transA : {false, true})
      for (bool transB : {false, true}) {
        int64_t lda = (transA ? c.m : c.k) + 1, ldb = (transB ? c.k : c.n) + 2;
        int64_t ldc = c.n + 3;
        std::vector<float> A = random(transA ? c.k : c.m, lda, 15);
        std::vector<float> B = random(transB ? c.n : c.k, ldb, 16);
        std::vector<float> C = random(c.m, ldc, 17);
        auto expected =
            reference(transA, transB, c.m, c.n, c.k, A, lda, B, ldb, C, ldc);
        mstream_sgemm(1, transA, transB, c.m, c.n, c.k, address(A.data()), lda,
                      0, address(B.data()), ldb, 0, address(C.data()), ldc, 0,
                      /*accumulate=*/1);
        SCOPED_TRACE(testing::Message()
                     << c.m << "x" << c.n << "x" << c.k << " transA " << transA
                     << " transB " << transB);
        expectNear(C, expected);
      }
  EXPECT_EQ(openblas_get_num_threads(), blas);
}

TEST(SgemmTest, APoolMadeByAGemmHasOpenBlasThreads) {
  // The pool's size defaults to OpenBLAS's thread count, which a GEMM call
  // sets to 1 while it runs; a pool first needed by a GEMM (in a forked
  // child, which makes a pool of its own) must not read that 1.
  std::vector<float> A = random(8, 8, 21), C(64, 0.0f);
  EXPECT_EXIT(
      {
        ::unsetenv("MSTREAM_NUM_THREADS");
        mstream_sgemm(1, 0, 0, 8, 8, 8, address(A.data()), 8, 0,
                      address(A.data()), 8, 0, address(C.data()), 8, 0,
                      /*accumulate=*/0);
        std::exit(mstream::rt::parallelThreads() == openblas_get_num_threads()
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(SgemmTest, LargeSelfProductsAreCutOverThePool) {
  // Grams X Xᵀ and Xᵀ X accumulated into a symmetric C and written over a
  // NaN one: each part computes its rows of the upper triangle and mirrors
  // its columns of the lower one.
  const int64_t m = 200, k = 120, ldc = m + 5;
  for (bool transA : {false, true})
    for (bool accumulate : {true, false}) {
      int64_t lda = (transA ? m : k) + 3;
      std::vector<float> A = random(transA ? k : m, lda, 18);
      std::vector<float> C = accumulate
                                 ? symmetrised(random(m, ldc, 19), m, ldc)
                                 : std::vector<float>(m * ldc, std::nanf(""));
      const std::vector<float> before = C;
      std::vector<float> base =
          accumulate ? C : std::vector<float>(m * ldc, 0.0f);
      auto expected =
          reference(transA, !transA, m, m, k, A, lda, A, lda, base, ldc);
      SCOPED_TRACE(testing::Message()
                   << "transA " << transA << " accumulate " << accumulate);
      mstream_sgemm(1, transA, !transA, m, m, k, address(A.data()), lda, 0,
                    address(A.data()), lda, 0, address(C.data()), ldc, 0,
                    accumulate);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = m; j < ldc; ++j) {
          float &pad = C[i * ldc + j];
          ASSERT_TRUE(pad == before[i * ldc + j] ||
                      (std::isnan(pad) && std::isnan(before[i * ldc + j])))
              << "padding (" << i << ", " << j << ") was written";
          pad = base[i * ldc + j];
        }
      expectNear(C, expected);
    }
}

TEST(SgemmTest, CountersAddCallsOutsideParallelTasks) {
  // A batched call counts once with every entry's multiply-adds; a call
  // made by a parallel task (a token loop's product) is the task's work.
  const int64_t batch = 5, m = 6, n = 7, k = 8;
  std::vector<float> A = random(batch * m, k, 13), B = random(batch * k, n, 14);
  std::vector<float> C(batch * m * n, 0.0f);
  mstream::rt::GemmCounters before = mstream::rt::gemmCounters();
  mstream_sgemm(batch, 0, 0, m, n, k, address(A.data()), k, m * k,
                address(B.data()), n, k * n, address(C.data()), n, m * n,
                /*accumulate=*/0);
  mstream::rt::GemmCounters after = mstream::rt::gemmCounters();
  EXPECT_EQ(after.calls - before.calls, 1);
  EXPECT_EQ(after.multiplyAdds - before.multiplyAdds, batch * m * n * k);
  EXPECT_GT(after.seconds, before.seconds);

  struct Operands {
    std::vector<float> &A, &B, &C;
  } operands{A, B, C};
  mstream_parallel_for(
      0, batch,
      [](void *context, int64_t begin, int64_t end) {
        auto &o = *static_cast<Operands *>(context);
        for (int64_t i = begin; i < end; ++i)
          mstream_sgemm(1, 0, 0, m, n, k, address(o.A.data() + i * m * k), k, 0,
                        address(o.B.data() + i * k * n), n, 0,
                        address(o.C.data() + i * m * n), n, 0,
                        /*accumulate=*/0);
      },
      &operands);
  mstream::rt::GemmCounters inTasks = mstream::rt::gemmCounters();
  EXPECT_EQ(inTasks.calls, after.calls);
  EXPECT_EQ(inTasks.multiplyAdds, after.multiplyAdds);
}

} // namespace
