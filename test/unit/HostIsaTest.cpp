//===- HostIsaTest.cpp - instruction sets of the host code ----------------===//

#include "mstream/Runtime/HostIsa.h"

#include <gtest/gtest.h>

using namespace mstream::rt;

namespace {

CpuFeatures withAvx2() {
  CpuFeatures features;
  features.avx = features.avx2 = features.fma = true;
  return features;
}

TEST(HostIsaTest, NamesResolve) {
  EXPECT_EQ(*resolveHostIsa("portable"), "portable");
  EXPECT_EQ(*resolveHostIsa("native"), bestHostIsa());
  absl::StatusOr<std::string> bad = resolveHostIsa("pentium");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown host CPU 'pentium'"),
            std::string::npos)
      << bad.status();
}

TEST(HostIsaTest, ListsResolveOldestFirstEachOnce) {
  EXPECT_EQ(*resolveHostIsas("all"), hostIsas());
  EXPECT_EQ(*resolveHostIsas("portable"), std::vector<std::string>{"portable"});
  std::vector<std::string> nativeAndPortable = {"portable"};
  if (bestHostIsa() != "portable")
    nativeAndPortable.push_back(bestHostIsa());
  EXPECT_EQ(*resolveHostIsas("native,portable,native"), nativeAndPortable);
  for (const char *bad : {"portable,pentium", "portable,", ""}) {
    absl::StatusOr<std::vector<std::string>> isas = resolveHostIsas(bad);
    ASSERT_FALSE(isas.ok()) << bad;
    EXPECT_NE(isas.status().message().find("a comma-separated list of native"),
              std::string::npos)
        << isas.status();
  }
}

TEST(HostIsaTest, ThisCpuRunsItsBest) {
  EXPECT_EQ(hostIsaProblem(bestHostIsa()), "");
  EXPECT_EQ(hostIsaProblem("portable"), "");
}

#if defined(__x86_64__)
TEST(HostIsaTest, TheBestIsTheNewestTheFeaturesAllow) {
  EXPECT_EQ(bestHostIsa(CpuFeatures{}), "portable");
  CpuFeatures avxOnly;
  avxOnly.avx = avxOnly.avx2 = true; // AVX2 without FMA (VIA, some VMs)
  EXPECT_EQ(bestHostIsa(avxOnly), "portable");
  EXPECT_EQ(bestHostIsa(withAvx2()), "avx2");
  CpuFeatures avx512 = withAvx2();
  avx512.avx512 = true;
  EXPECT_EQ(bestHostIsa(avx512), "avx512");
}

TEST(HostIsaTest, ACpuWithoutTheFeaturesIsToldWhatItLacks) {
  std::string problem = hostIsaProblem("avx512", withAvx2());
  EXPECT_NE(problem.find("needs AVX-512 F, BW, DQ and VL"), std::string::npos)
      << problem;
  EXPECT_NE(problem.find("--host-cpu=portable"), std::string::npos) << problem;
  EXPECT_NE(hostIsaProblem("avx2", CpuFeatures{}).find("needs AVX2 and FMA"),
            std::string::npos);
  EXPECT_EQ(hostIsaProblem("avx2", withAvx2()), "");
}

TEST(HostIsaTest, ListsAreOrderedByAge) {
  EXPECT_EQ(*resolveHostIsas("avx512,portable,avx2"), hostIsas());
}
#endif

} // namespace
