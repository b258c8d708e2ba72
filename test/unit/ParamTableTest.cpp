//===- ParamTableTest.cpp - parameter names, shapes, counts and init ------===//

#include "mstream/Model/ParamTable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace mstream;

namespace {

ModelConfig tinyConfig(Variant variant) {
  ModelConfig config;
  config.variant = variant;
  config.vocabSize = 256;
  config.maxSeqLen = 128;
  config.dModel = 128;
  config.nLayers = 4;
  config.nHeads = 4;
  return config;
}

ModelConfig paperConfig(Variant variant) {
  ModelConfig config;
  config.variant = variant;
  return config;
}

const ParamSpec *find(const std::vector<ParamSpec> &table,
                      const std::string &name) {
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const ParamSpec &p) { return p.name == name; });
  return it == table.end() ? nullptr : &*it;
}

struct CountCase {
  Variant variant;
  VelInit velInit;
  int64_t paper;
  int64_t tiny;
};

// docs/models.md, Parameter counts: verified by building each reference class
// and summing numel.
const CountCase kCounts[] = {
    {Variant::Vanilla, VelInit::Embed, 124373760, 836736},
    {Variant::HeavyBall, VelInit::Embed, 163812144, 886928},
    {Variant::Yurii, VelInit::Embed, 163812168, 886936},
    {Variant::Tmm, VelInit::Embed, 163812192, 886944},
    {Variant::Tmm, VelInit::Zero, 124392288, 837792},
    {Variant::Adam, VelInit::Embed, 163812168, 886936},
    {Variant::AdamW, VelInit::Embed, 163812192, 886944},
    {Variant::RmsProp, VelInit::Embed, 124392240, 837776},
    {Variant::Muon, VelInit::Embed, 163812144, 886928},
    {Variant::Ortho, VelInit::Embed, 124392216, 837768},
    {Variant::Shampoo, VelInit::Embed, 124392240, 837776},
    {Variant::Soap, VelInit::Embed, 163812168, 886936},
};

class ParamCountTest : public testing::TestWithParam<CountCase> {};

TEST_P(ParamCountTest, MatchesReferenceModel) {
  const CountCase &c = GetParam();
  ModelConfig paper = paperConfig(c.variant);
  paper.velInit = c.velInit;
  ModelConfig tiny = tinyConfig(c.variant);
  tiny.velInit = c.velInit;
  EXPECT_EQ(countParameters(buildParamTable(paper)), c.paper);
  EXPECT_EQ(countParameters(buildParamTable(tiny)), c.tiny);
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, ParamCountTest, testing::ValuesIn(kCounts),
    [](const testing::TestParamInfo<CountCase> &info) {
      std::string name(getVariantInfo(info.param.variant).name);
      return info.param.velInit == VelInit::Zero ? name + "_zerovel" : name;
    });

TEST(ParamTableTest, TmmStateDictOrderAndShapes) {
  std::vector<ParamSpec> table = buildParamTable(tinyConfig(Variant::Tmm));
  std::vector<std::string> head;
  for (size_t i = 0; i < 13; ++i)
    head.push_back(table[i].name);
  // A module's own parameters (the raw scalars) precede its submodules'.
  EXPECT_EQ(head, (std::vector<std::string>{
                      "tok_emb.weight", "pos_emb.weight", "vel_tok_emb.weight",
                      "vel_pos_emb.weight", "layers.0.mu_attn_raw",
                      "layers.0.beta_attn_raw", "layers.0.gamma_attn_raw",
                      "layers.0.nu_attn_raw", "layers.0.mu_mlp_raw",
                      "layers.0.beta_mlp_raw", "layers.0.gamma_mlp_raw",
                      "layers.0.nu_mlp_raw", "layers.0.ln_attn.weight"}));
  EXPECT_EQ(table.back().name, "final_ln.weight");
  EXPECT_EQ(find(table, "layers.3.attn.qkv_proj.weight")->shape,
            (std::vector<int64_t>{384, 128}));
  EXPECT_EQ(find(table, "layers.3.mlp.w2.weight")->shape,
            (std::vector<int64_t>{128, 512}));
  EXPECT_NE(find(table, "layers.3.ln_v_mlp.weight"), nullptr);
  EXPECT_EQ(find(table, "lm_head.weight"), nullptr) << "the head is tied";
}

TEST(ParamTableTest, ScalarShapesAndInit) {
  std::vector<ParamSpec> adamw = buildParamTable(tinyConfig(Variant::AdamW));
  const ParamSpec *lambda = find(adamw, "layers.2.lambda_mlp_raw");
  ASSERT_NE(lambda, nullptr);
  EXPECT_TRUE(lambda->shape.empty()) << "AdamW's lambda is a 0-d tensor";
  EXPECT_EQ(lambda->initValue, -5.0);
  EXPECT_EQ(find(adamw, "layers.2.beta1_mlp_raw")->shape,
            std::vector<int64_t>{1});

  std::vector<ParamSpec> tmm = buildParamTable(tinyConfig(Variant::Tmm));
  EXPECT_EQ(find(tmm, "layers.1.nu_attn_raw")->initValue, 0.5413248);
  EXPECT_EQ(find(tmm, "layers.1.mu_attn_raw")->initValue, 0.0);

  std::vector<ParamSpec> soap = buildParamTable(tinyConfig(Variant::Soap));
  EXPECT_NE(find(soap, "layers.0.betaR_attn_raw"), nullptr);
  EXPECT_NE(find(soap, "m_tok_emb.weight"), nullptr);
  EXPECT_NE(find(soap, "layers.0.ln_update_attn.weight"), nullptr);
}

TEST(ParamTableTest, InitStdScalesResidualProjections) {
  std::vector<ParamSpec> table = buildParamTable(paperConfig(Variant::Vanilla));
  const ParamSpec *out = find(table, "layers.5.attn.out_proj.weight");
  const ParamSpec *w2 = find(table, "layers.5.mlp.w2.weight");
  const ParamSpec *w1 = find(table, "layers.5.mlp.w1.weight");
  // 0.02 / sqrt(2 * 12) = 0.0040825 (docs/models.md).
  EXPECT_NEAR(out->initValue, 0.0040825, 1e-7);
  EXPECT_EQ(out->init, InitRule::Normal);
  EXPECT_EQ(w2->initValue, out->initValue);
  EXPECT_EQ(w1->initValue, 0.02);
  const ParamSpec *ln = find(table, "layers.5.ln_mlp.weight");
  EXPECT_EQ(ln->init, InitRule::Constant);
  EXPECT_EQ(ln->initValue, 1.0);
}

TEST(ParamTableTest, OptimizerRoutingFollowsThePaper) {
  EXPECT_EQ(classifyParam("layers.0.nu_attn_raw", 1), ParamGroup::Scalar);
  EXPECT_EQ(classifyParam("layers.0.ln_v_attn.weight", 1),
            ParamGroup::LayerNormGain);
  EXPECT_EQ(classifyParam("final_ln.weight", 1), ParamGroup::LayerNormGain);
  EXPECT_EQ(classifyParam("vel_tok_emb.weight", 2), ParamGroup::Embedding);
  EXPECT_EQ(classifyParam("layers.0.attn.qkv_proj.weight", 2),
            ParamGroup::Matrix);

  std::vector<ParamSpec> table = buildParamTable(paperConfig(Variant::Tmm));
  auto matrices = std::count_if(table.begin(), table.end(), [](auto &p) {
    return p.group == ParamGroup::Matrix;
  });
  EXPECT_EQ(matrices, 48) << "4 Muon matrices per layer at L = 12";
}

} // namespace
