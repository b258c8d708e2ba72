//===- ParamTable.cpp - the parameters of a model -------------------------===//

#include "mstream/Model/ParamTable.h"

#include <cmath>
#include <functional>
#include <numeric>

namespace mstream {

// nanoGPT-style init (docs/models.md, Initialisation).
static constexpr double kInitStd = 0.02;

bool ModelConfig::hasAuxEmbedding() const {
  const VariantInfo &info = getVariantInfo(variant);
  if (info.auxEmbeddingPrefix.empty())
    return false;
  return variant != Variant::Tmm || velInit == VelInit::Embed;
}

int64_t ParamSpec::numElements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<>());
}

const char *paramGroupName(ParamGroup group) {
  switch (group) {
  case ParamGroup::Scalar:
    return "scalar";
  case ParamGroup::LayerNormGain:
    return "ln";
  case ParamGroup::Embedding:
    return "embedding";
  case ParamGroup::Matrix:
    return "matrix";
  }
  return "";
}

ParamGroup classifyParam(const std::string &name, size_t rank) {
  if (name.find("_raw") != std::string::npos)
    return ParamGroup::Scalar;
  if (name.find("ln") != std::string::npos)
    return ParamGroup::LayerNormGain;
  if (name.find("emb") != std::string::npos)
    return ParamGroup::Embedding;
  if (rank == 2)
    return ParamGroup::Matrix;
  return ParamGroup::LayerNormGain;
}

std::vector<ParamSpec> buildParamTable(const ModelConfig &config) {
  const VariantInfo &info = getVariantInfo(config.variant);
  const int64_t d = config.dModel;
  const double residualStd =
      kInitStd / std::sqrt(2.0 * static_cast<double>(config.nLayers));
  std::vector<ParamSpec> table;
  auto add = [&](std::string name, std::vector<int64_t> shape, InitRule init,
                 double value) {
    ParamGroup group = classifyParam(name, shape.size());
    table.push_back({std::move(name), std::move(shape), init, value, group});
  };
  auto addEmbeddingPair = [&](const std::string &prefix) {
    add(prefix + "tok_emb.weight", {config.vocabSize, d}, InitRule::Normal,
        kInitStd);
    add(prefix + "pos_emb.weight", {config.maxSeqLen, d}, InitRule::Normal,
        kInitStd);
  };

  addEmbeddingPair("");
  if (config.hasAuxEmbedding())
    addEmbeddingPair(std::string(info.auxEmbeddingPrefix));

  for (int64_t layer = 0; layer < config.nLayers; ++layer) {
    const std::string prefix = "layers." + std::to_string(layer) + ".";
    // A module's own parameters precede its submodules' in a state_dict.
    for (const char *substep : {"attn", "mlp"})
      for (const RawScalar &scalar : info.scalars)
        add(prefix + std::string(scalar.name) + "_" + substep + "_raw",
            scalar.zeroDim ? std::vector<int64_t>{} : std::vector<int64_t>{1},
            InitRule::Constant, scalar.init);
    add(prefix + "ln_attn.weight", {d}, InitRule::Constant, 1.0);
    add(prefix + "attn.qkv_proj.weight", {3 * d, d}, InitRule::Normal,
        kInitStd);
    add(prefix + "attn.out_proj.weight", {d, d}, InitRule::Normal, residualStd);
    add(prefix + "ln_mlp.weight", {d}, InitRule::Constant, 1.0);
    add(prefix + "mlp.w1.weight", {config.mlpHidden(), d}, InitRule::Normal,
        kInitStd);
    add(prefix + "mlp.w2.weight", {d, config.mlpHidden()}, InitRule::Normal,
        residualStd);
    if (!info.extraLnPrefix.empty())
      for (const char *substep : {"attn", "mlp"})
        add(prefix + std::string(info.extraLnPrefix) + "_" + substep +
                ".weight",
            {d}, InitRule::Constant, 1.0);
  }
  add("final_ln.weight", {d}, InitRule::Constant, 1.0);
  return table;
}

int64_t countParameters(const std::vector<ParamSpec> &table) {
  int64_t total = 0;
  for (const ParamSpec &spec : table)
    total += spec.numElements();
  return total;
}

} // namespace mstream
