//===- ConfigParserTest.cpp - JSON model definitions ----------------------===//

#include "mstream/Frontend/ConfigParser.h"

#include <gtest/gtest.h>

using namespace mstream;

namespace {

/// The rendered error of parsing `text` as "cfg.json", or "" on success.
std::string errorOf(llvm::StringRef text) {
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(text, "cfg.json");
  if (parsed)
    return "";
  return llvm::toString(parsed.takeError());
}

TEST(ConfigParserTest, ReadsEveryKey) {
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(
      R"({"variant": "tmm", "vocab_size": 256, "max_seq_len": 128,
          "d_model": 96, "n_layers": 3, "n_heads": 6, "vel_init": "zero"})",
      "cfg.json");
  ASSERT_TRUE(static_cast<bool>(parsed)) << llvm::toString(parsed.takeError());
  const ModelConfig &c = parsed->config;
  EXPECT_EQ(c.variant, Variant::Tmm);
  EXPECT_EQ(c.vocabSize, 256);
  EXPECT_EQ(c.maxSeqLen, 128);
  EXPECT_EQ(c.dModel, 96);
  EXPECT_EQ(c.nLayers, 3);
  EXPECT_EQ(c.nHeads, 6);
  EXPECT_EQ(c.headDim(), 16);
  EXPECT_EQ(c.velInit, VelInit::Zero);
  EXPECT_EQ(parsed->file, "cfg.json");
  EXPECT_EQ(parsed->line, 1u);
  EXPECT_EQ(parsed->column, 13u) << "anchored at the variant's value";
}

TEST(ConfigParserTest, DefaultsAreThePaperConfig) {
  llvm::Expected<ParsedConfig> parsed =
      parseModelConfig(R"({"variant": "muon"})", "cfg.json");
  ASSERT_TRUE(static_cast<bool>(parsed));
  const ModelConfig &c = parsed->config;
  EXPECT_EQ(c.vocabSize, 50304);
  EXPECT_EQ(c.maxSeqLen, 1024);
  EXPECT_EQ(c.dModel, 768);
  EXPECT_EQ(c.nLayers, 12);
  EXPECT_EQ(c.nHeads, 12);
  EXPECT_EQ(c.nsIters, 5);
}

TEST(ConfigParserTest, ErrorShowsTheLineAndACaret) {
  std::string error =
      errorOf("{\n  \"variant\": \"tmm\",\n  \"d_model\": 128,\n"
              "  \"n_heads\": 5\n}\n");
  EXPECT_NE(error.find("cfg.json:4:14: error: key 'n_heads': 5 heads do not "
                       "divide d_model = 128"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("  \"n_heads\": 5\n             ^"), std::string::npos)
      << error;
}

struct BadConfig {
  const char *name;
  const char *text;
  const char *expected;
};

// Each malformed definition and the start of its diagnostic.
const BadConfig kBadConfigs[] = {
    {"NotJson", R"({"variant": "tmm",})",
     "cfg.json:1:19: error: invalid JSON: Expected object key"},
    // LLVM's parser recurses per level: 100,000 would overflow its stack.
    {"DeeplyNested",
     R"({"variant": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})",
     "cfg.json:1:44: error: invalid JSON: nested deeper than 32 levels"},
    // Brackets inside strings do not count.
    {"BracketsInString",
     R"({"variant": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})",
     "cfg.json:1:13: error: key 'variant': unknown value"},
    {"NotAnObject", R"(["tmm"])",
     "cfg.json:1:1: error: a model definition must be a JSON object"},
    {"MissingVariant", R"({"d_model": 64})",
     "cfg.json:1:1: error: missing required key 'variant'; expected one of "
     "vanilla, hb, yurii, tmm"},
    {"UnknownVariant", R"({"variant": "tmmm"})",
     "cfg.json:1:13: error: key 'variant': unknown value 'tmmm' (did you mean "
     "'tmm'?)"},
    {"VariantNotString", R"({"variant": 3})",
     "cfg.json:1:13: error: key 'variant': expected one of vanilla"},
    {"UnknownKey", R"({"variant": "tmm", "d_modle": 64})",
     "cfg.json:1:20: error: unknown key 'd_modle' (did you mean 'd_model'?)"},
    {"DuplicateKey", R"({"variant": "tmm", "variant": "hb"})",
     "cfg.json:1:20: error: duplicate key 'variant'"},
    {"StringNumber", R"({"variant": "tmm", "d_model": "128"})",
     "cfg.json:1:31: error: key 'd_model': expected an integer, got string "
     "\"128\""},
    {"FractionalNumber", R"({"variant": "tmm", "n_layers": 2.5})",
     "cfg.json:1:32: error: key 'n_layers': expected an integer, got 2.5"},
    {"Negative", R"({"variant": "tmm", "n_layers": -1})",
     "cfg.json:1:32: error: key 'n_layers': value -1 is out of range [1, "
     "1024]"},
    {"Zero", R"({"variant": "tmm", "vocab_size": 0})",
     "error: key 'vocab_size': value 0 is out of range"},
    {"HeadsDoNotDivide", R"({"variant": "tmm", "d_model": 100, "n_heads": 3})",
     "cfg.json:1:47: error: key 'n_heads': 3 heads do not divide d_model = "
     "100"},
    {"DefaultHeadsDoNotDivide", R"({"variant": "tmm", "d_model": 100})",
     "cfg.json:1:31: error: key 'd_model': 12 heads do not divide d_model = "
     "100"},
    {"VelInitOnWrongVariant", R"({"variant": "adam", "vel_init": "zero"})",
     "cfg.json:1:33: error: key 'vel_init': applies only to variant 'tmm', "
     "not 'adam'"},
    {"VelInitUnknown", R"({"variant": "tmm", "vel_init": "random"})",
     "cfg.json:1:32: error: key 'vel_init': unknown value 'random'; expected "
     "one of embed, zero"},
    {"NsItersOnWrongVariant", R"({"variant": "tmm", "ns_iters": 3})",
     "cfg.json:1:32: error: key 'ns_iters': applies only to variants 'muon' "
     "and 'ortho', not 'tmm'"},
    {"NullValue", R"({"variant": "tmm", "n_heads": null})",
     "key 'n_heads': expected an integer, got null"},
};

class BadConfigTest : public testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, GivesALocatedError) {
  std::string error = errorOf(GetParam().text);
  EXPECT_NE(error.find(GetParam().expected), std::string::npos)
      << "got: " << error;
}

INSTANTIATE_TEST_SUITE_P(Malformed, BadConfigTest,
                         testing::ValuesIn(kBadConfigs),
                         [](const testing::TestParamInfo<BadConfig> &info) {
                           return std::string(info.param.name);
                         });

TEST(ConfigParserTest, UnreadableFileIsAnError) {
  llvm::Expected<ParsedConfig> parsed =
      parseModelConfigFile("/nonexistent/model.json");
  ASSERT_FALSE(static_cast<bool>(parsed));
  EXPECT_NE(llvm::toString(parsed.takeError())
                .find("cannot read '/nonexistent/model.json'"),
            std::string::npos);
}

} // namespace
