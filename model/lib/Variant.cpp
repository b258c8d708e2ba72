//===- Variant.cpp - the eleven optimizer-inspired model variants ---------===//

#include "mstream/Model/Variant.h"

#include <algorithm>

namespace mstream {

// softplus(0.5413248) ~= 1: TMM starts out as YuriiFormer (docs/models.md).
static constexpr double kNuInit = 0.5413248;
// sigmoid(-5) ~= 0.0067: AdamW starts close to Adam (docs/models.md).
static constexpr double kLambdaInit = -5.0;

const std::vector<VariantInfo> &allVariants() {
  static const std::vector<VariantInfo> variants = {
      {Variant::Vanilla,
       "vanilla",
       "VanillaTransformer",
       "",
       "",
       {},
       false,
       false},
      {Variant::HeavyBall,
       "hb",
       "HBFormer",
       "vel_",
       "ln_v",
       {{"beta", 0, false}, {"gamma", 0, false}},
       false,
       false},
      {Variant::Yurii,
       "yurii",
       "YuriiFormer",
       "vel_",
       "ln_v",
       {{"mu", 0, false}, {"beta", 0, false}, {"gamma", 0, false}},
       false,
       false},
      {Variant::Tmm,
       "tmm",
       "TMMFormer",
       "vel_",
       "ln_v",
       {{"mu", 0, false},
        {"beta", 0, false},
        {"gamma", 0, false},
        {"nu", kNuInit, false}},
       false,
       false},
      {Variant::Adam,
       "adam",
       "AdamFormer",
       "m_",
       "ln_update",
       {{"beta1", 0, false}, {"beta2", 0, false}, {"gamma", 0, false}},
       false,
       false},
      {Variant::AdamW,
       "adamw",
       "AdamWFormer",
       "m_",
       "ln_update",
       {{"beta1", 0, false},
        {"beta2", 0, false},
        {"gamma", 0, false},
        {"lambda", kLambdaInit, true}},
       false,
       false},
      {Variant::RmsProp,
       "rmsprop",
       "RMSPropFormer",
       "",
       "ln_update",
       {{"beta2", 0, false}, {"gamma", 0, false}},
       false,
       false},
      {Variant::Muon,
       "muon",
       "MuonFormer",
       "m_",
       "ln_update",
       {{"beta", 0, false}, {"gamma", 0, false}},
       true,
       false},
      {Variant::Ortho,
       "ortho",
       "OrthoFormer",
       "",
       "ln_update",
       {{"gamma", 0, false}},
       true,
       false},
      {Variant::Shampoo,
       "shampoo",
       "ShampooFormer",
       "",
       "ln_update",
       {{"betaR", 0, false}, {"gamma", 0, false}},
       true,
       true},
      {Variant::Soap,
       "soap",
       "SOAPFormer",
       "m_",
       "ln_update",
       {{"beta1", 0, false}, {"betaR", 0, false}, {"gamma", 0, false}},
       true,
       true},
  };
  return variants;
}

const VariantInfo &getVariantInfo(Variant variant) {
  return allVariants()[static_cast<size_t>(variant)];
}

std::optional<Variant> parseVariant(std::string_view name) {
  const auto &variants = allVariants();
  auto it =
      std::find_if(variants.begin(), variants.end(),
                   [&](const VariantInfo &info) { return info.name == name; });
  if (it == variants.end())
    return std::nullopt;
  return it->variant;
}

} // namespace mstream
