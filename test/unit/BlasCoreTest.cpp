//===- BlasCoreTest.cpp - OpenBLAS kernels from the CPU's features --------===//

#include "mstream/Runtime/BlasCore.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

using mstream::rt::betterBlasCore;
using mstream::rt::blasCore;
using mstream::rt::CpuFeatures;

TEST(BlasCoreTest, GenericFallbackIsReplacedByTheWidestKernels) {
  CpuFeatures avx512{true, true, true, true}, avx2{true, true, true, false},
      avx{true, false, false, false}, sse{};
  EXPECT_EQ(betterBlasCore("Prescott", avx512), "SkylakeX");
  EXPECT_EQ(betterBlasCore("Prescott", avx2), "Haswell");
  EXPECT_EQ(betterBlasCore("Prescott", avx), "Sandybridge");
  EXPECT_EQ(betterBlasCore("Prescott", sse), "");
}

TEST(BlasCoreTest, ACoreOpenBlasRecognisedStands) {
  CpuFeatures avx512{true, true, true, true};
  for (const char *core : {"Zen", "SkylakeX", "Cooperlake", "Haswell"})
    EXPECT_EQ(betterBlasCore(core, avx512), "") << core;
}

// Whatever OpenBLAS picked on this machine, after the selection it runs the
// kernels the CPU allows, and the environment is as it was.
TEST(BlasCoreTest, TheRuntimeRunsTheKernelsTheCpuAllows) {
  if (std::getenv("OPENBLAS_CORETYPE"))
    GTEST_SKIP() << "skipped: OPENBLAS_CORETYPE is set";
  const std::string &core = blasCore();
  EXPECT_EQ(core, openblas_get_corename());
  EXPECT_EQ(betterBlasCore(core, mstream::rt::hostCpuFeatures()), "");
  EXPECT_EQ(std::getenv("OPENBLAS_CORETYPE"), nullptr);
}

// The child re-runs this binary, so its selection has not happened yet.
TEST(BlasCoreTest, OpenBlasCoretypeStands) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::string before = openblas_get_corename();
        ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
        std::exit(blasCore() == before ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

} // namespace
