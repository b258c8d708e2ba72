//===- ImporterTest.cpp - model definitions to mstream IR -----------------===//

#include "mstream/Frontend/Importer.h"
#include "mstream/Model/ParamTable.h"

#include "mstream/Dialect/MStreamOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mstream;

namespace {

ParsedConfig tiny(Variant variant) {
  ParsedConfig parsed;
  parsed.file = "tiny.json";
  parsed.config.variant = variant;
  parsed.config.vocabSize = 256;
  parsed.config.maxSeqLen = 128;
  parsed.config.dModel = 128;
  parsed.config.nLayers = 4;
  parsed.config.nHeads = 4;
  return parsed;
}

class ImportEveryVariant : public testing::TestWithParam<VariantInfo> {};

TEST_P(ImportEveryVariant, ParametersAndStepOps) {
  mlir::MLIRContext context;
  ParsedConfig parsed = tiny(GetParam().variant);
  auto module = importModel(context, parsed, {2, 16});
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());

  auto forward = (*module)->lookupSymbol<mlir::func::FuncOp>("forward");
  auto loss = (*module)->lookupSymbol<mlir::func::FuncOp>("loss");
  ASSERT_TRUE(forward && loss);

  std::vector<ParamSpec> table = buildParamTable(parsed.config);
  ASSERT_EQ(forward.getNumArguments(), table.size() + 1);
  ASSERT_EQ(loss.getNumArguments(), table.size() + 2);
  for (size_t i = 0; i < table.size(); ++i) {
    auto name =
        forward.getArgAttrOfType<mlir::StringAttr>(i + 1, kParamAttrName);
    ASSERT_TRUE(name) << "argument " << i + 1 << " has no parameter name";
    EXPECT_EQ(name.getValue(), table[i].name);
    auto type = mlir::cast<mlir::RankedTensorType>(
        forward.getArgument(i + 1).getType());
    EXPECT_EQ(
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
        table[i].shape)
        << table[i].name;
  }

  int steps = 0;
  forward.walk([&](StepOpInterface) { ++steps; });
  EXPECT_EQ(steps, 2 * 4) << "one step op per substep";

  auto result = mlir::cast<mlir::RankedTensorType>(forward.getResultTypes()[0]);
  EXPECT_EQ(result.getShape(), llvm::ArrayRef<int64_t>({2, 16, 256}));
}

INSTANTIATE_TEST_SUITE_P(AllVariants, ImportEveryVariant,
                         testing::ValuesIn(allVariants()),
                         [](const testing::TestParamInfo<VariantInfo> &info) {
                           return std::string(info.param.name);
                         });

TEST(ImporterTest, SequenceLongerThanPositionsIsAnError) {
  mlir::MLIRContext context;
  auto module = importModel(context, tiny(Variant::Tmm), {1, 129});
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "sequence length 129 exceeds tiny.json's max_seq_len = 128");
}

TEST(ImporterTest, NonPositiveBatchIsAnError) {
  mlir::MLIRContext context;
  auto module = importModel(context, tiny(Variant::Tmm), {0, 8});
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_NE(llvm::toString(module.takeError()).find("must be positive"),
            std::string::npos);
}

TEST(ImporterTest, ZeroVelocityTmmHasNoVelocityEmbeddings) {
  mlir::MLIRContext context;
  ParsedConfig parsed = tiny(Variant::Tmm);
  parsed.config.velInit = VelInit::Zero;
  auto module = importModel(context, parsed, {1, 8});
  ASSERT_TRUE(static_cast<bool>(module));
  int embeddings = 0;
  (*module)->walk([&](EmbeddingOp) { ++embeddings; });
  EXPECT_EQ(embeddings, 1);
}

TEST(ImporterTest, OpsAreLocatedAtTheDefinition) {
  mlir::MLIRContext context;
  ParsedConfig parsed = tiny(Variant::Muon);
  parsed.line = 2;
  parsed.column = 14;
  auto module = importModel(context, parsed, {1, 8});
  ASSERT_TRUE(static_cast<bool>(module));
  MuonOp last;
  (*module)->walk([&](MuonOp op) { last = op; });
  auto loc = mlir::dyn_cast<mlir::NameLoc>(last.getLoc());
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc.getName().getValue(), "layers.3.mlp");
  auto file = mlir::dyn_cast<mlir::FileLineColLoc>(loc.getChildLoc());
  ASSERT_TRUE(file);
  EXPECT_EQ(file.getFilename().getValue(), "tiny.json");
  EXPECT_EQ(file.getLine(), 2u);
  EXPECT_EQ(file.getColumn(), 14u);
}

} // namespace
