//===- ParamsTest.cpp - parameter init and binding ------------------------===//

#include "mstream/Runtime/Params.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mstream;
using namespace mstream::rt;

namespace {

std::vector<ParamSpec> table() {
  return {
      {"w", {256, 64}, InitRule::Normal, 0.02, ParamGroup::Matrix},
      {"ln.weight", {64}, InitRule::Constant, 1.0, ParamGroup::LayerNormGain},
      {"nu_raw", {1}, InitRule::Constant, 0.5413248, ParamGroup::Scalar}};
}

TEST(ParamsTest, InitIsDeterministicWithTheRightMoments) {
  NamedTensors a = initParams(table(), 42), b = initParams(table(), 42),
               c = initParams(table(), 43);
  const Tensor &w = a[0].second;
  EXPECT_EQ(w.host(), b[0].second.host());
  EXPECT_NE(w.host(), c[0].second.host());
  double sum = 0, squares = 0;
  int64_t n = w.numElements();
  for (int64_t i = 0; i < n; ++i) {
    sum += w.f32()[i];
    squares += double(w.f32()[i]) * w.f32()[i];
  }
  double mean = sum / n, stddev = std::sqrt(squares / n - mean * mean);
  // 16384 draws: the sample std is within 3% of 0.02 with overwhelming odds.
  EXPECT_NEAR(stddev, 0.02, 0.0006);
  EXPECT_NEAR(mean, 0.0, 0.0006);
  EXPECT_EQ(a[1].second.f32()[63], 1.0f);
  EXPECT_EQ(a[2].second.f32()[0], 0.5413248f);
}

TEST(ParamsTest, BindOrdersByTableAndChecks) {
  NamedTensors loaded = initParams(table(), 1);
  std::swap(loaded[0], loaded[2]);
  loaded[1].first = "_orig_mod.ln.weight";
  absl::StatusOr<std::vector<Tensor>> bound =
      bindParams(table(), loaded, "w.safetensors");
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ((*bound)[0].shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ((*bound)[2].shape, std::vector<int64_t>{1});

  NamedTensors missing = initParams(table(), 1);
  missing.pop_back();
  EXPECT_EQ(bindParams(table(), missing, "w.safetensors").status().message(),
            "w.safetensors: missing parameter 'nu_raw' [1]");

  NamedTensors wrong = initParams(table(), 1);
  wrong[1].second.shape = {32, 2};
  EXPECT_EQ(bindParams(table(), wrong, "w.safetensors").status().message(),
            "w.safetensors: tensor 'ln.weight' has shape [32, 2] but the model "
            "expects [64]");

  NamedTensors nan = initParams(table(), 1);
  nan[1].second.f32()[5] = std::nanf("");
  EXPECT_EQ(bindParams(table(), nan, "w.safetensors").status().message(),
            "w.safetensors: tensor 'ln.weight' holds nan at flat index 5: "
            "parameters must be finite");
  NamedTensors inf = initParams(table(), 1);
  inf[0].second.f32()[0] = -INFINITY;
  EXPECT_EQ(bindParams(table(), inf, "w.safetensors").status().message(),
            "w.safetensors: tensor 'w' holds -inf at flat index 0: "
            "parameters must be finite");

  NamedTensors twice = initParams(table(), 1);
  twice.push_back(twice[0]);
  EXPECT_EQ(bindParams(table(), twice, "w.safetensors").status().message(),
            "w.safetensors: parameter 'w' appears twice");
}

} // namespace
