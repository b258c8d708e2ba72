//===- VariantTest.cpp - the variant table --------------------------------===//

#include "mstream/Model/Variant.h"

#include <gtest/gtest.h>

using namespace mstream;

TEST(VariantTest, NamesRoundTrip) {
  ASSERT_EQ(allVariants().size(), 11u);
  for (const VariantInfo &info : allVariants()) {
    std::optional<Variant> parsed = parseVariant(info.name);
    ASSERT_TRUE(parsed.has_value()) << info.name;
    EXPECT_EQ(*parsed, info.variant);
    EXPECT_EQ(&getVariantInfo(info.variant), &info);
  }
  EXPECT_FALSE(parseVariant("TMMFormer").has_value());
  EXPECT_FALSE(parseVariant("").has_value());
}

TEST(VariantTest, ScalarCountsPerLayerMatchSpec) {
  // docs/models.md: k scalars per layer, two substeps each.
  const std::pair<Variant, size_t> expected[] = {
      {Variant::Vanilla, 0}, {Variant::HeavyBall, 4}, {Variant::Yurii, 6},
      {Variant::Tmm, 8},     {Variant::Adam, 6},      {Variant::AdamW, 8},
      {Variant::RmsProp, 4}, {Variant::Muon, 4},      {Variant::Ortho, 2},
      {Variant::Shampoo, 4}, {Variant::Soap, 6},
  };
  for (auto [variant, perLayer] : expected)
    EXPECT_EQ(2 * getVariantInfo(variant).scalars.size(), perLayer)
        << getVariantInfo(variant).name;
}
