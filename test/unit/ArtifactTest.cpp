//===- ArtifactTest.cpp - the artifact container and manifest -------------===//

#include "mstream/Runtime/Artifact.h"
#include "mstream/Runtime/HostIsa.h"

#include <gtest/gtest.h>

using namespace mstream;
using namespace mstream::rt;

namespace {

Manifest sampleManifest() {
  ModelConfig config;
  config.variant = Variant::AdamW;
  config.vocabSize = 16;
  config.maxSeqLen = 8;
  config.dModel = 8;
  config.nLayers = 1;
  config.nHeads = 2;
  Manifest m;
  m.compilerVersion = runtimeVersion();
  m.target = hostTarget();
  m.model = {{"variant", "adamw"}, {"vocab_size", "16"}};
  m.batch = 2;
  m.seq = 4;
  m.params = buildParamTable(config);
  m.entries = {
      {"loss",
       {{"tokens", DType::I32, {2, 4}}, {"targets", DType::I32, {2, 4}}},
       {{"loss", DType::F32, {}}}}};
  return m;
}

TEST(ArtifactTest, RoundTrip) {
  Manifest m = sampleManifest();
  std::string bytes = serializeArtifact(m, {"OBJECT"});
  absl::StatusOr<ArtifactContents> back = parseArtifact(bytes, "a.mstream");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->object, "OBJECT");
  EXPECT_EQ(back->manifest.modelValue("variant"), "adamw");
  EXPECT_EQ(back->manifest.batch, 2);
  EXPECT_EQ(back->manifest.hostIsas, std::vector<std::string>{"portable"});
  EXPECT_EQ(back->hostIsa, "portable");
  ASSERT_EQ(back->manifest.params.size(), m.params.size());
  for (size_t i = 0; i < m.params.size(); ++i) {
    EXPECT_EQ(back->manifest.params[i].name, m.params[i].name);
    EXPECT_EQ(back->manifest.params[i].shape, m.params[i].shape);
    EXPECT_EQ(back->manifest.params[i].init, m.params[i].init);
    EXPECT_EQ(back->manifest.params[i].initValue, m.params[i].initValue);
    EXPECT_EQ(back->manifest.params[i].group, m.params[i].group);
  }
  const EntrySpec *loss = back->manifest.findEntry("loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->inputs[1].name, "targets");
  EXPECT_EQ(loss->outputs[0].shape, std::vector<int64_t>{});
}

TEST(ArtifactTest, DetectsDamage) {
  std::string bytes = serializeArtifact(sampleManifest(), {"OBJECT"});
  auto message = [](absl::StatusOr<ArtifactContents> parsed) {
    return std::string(parsed.status().message());
  };
  EXPECT_NE(message(parseArtifact("MSTREAMB" + bytes.substr(8), "a"))
                .find("bad magic"),
            std::string::npos);
  EXPECT_NE(message(parseArtifact(bytes.substr(0, bytes.size() - 1), "a"))
                .find("checksum mismatch"),
            std::string::npos);
  std::string flipped = bytes;
  flipped[40] ^= 1;
  EXPECT_NE(message(parseArtifact(flipped, "a")).find("checksum mismatch"),
            std::string::npos);
  EXPECT_NE(message(parseArtifact("MSTREAMA", "a")).find("truncated"),
            std::string::npos);
}

TEST(ArtifactTest, HostCodeForAnotherInstructionSetIsRefused) {
  Manifest m = sampleManifest();
  m.hostIsas = {"avx1024"};
  absl::StatusOr<ArtifactContents> parsed =
      parseArtifact(serializeArtifact(m, {"OBJECT"}), "a.mstream");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(parsed.status().message().find(
                "a.mstream: its host code is built for 'avx1024'"),
            std::string::npos)
      << parsed.status();
  // What this CPU runs loads.
  m.hostIsas = {bestHostIsa()};
  EXPECT_TRUE(parseArtifact(serializeArtifact(m, {"OBJECT"}), "a").ok());
}

TEST(ArtifactTest, AFatArtifactLoadsTheNewestHostCodeThisCpuRuns) {
  Manifest m = sampleManifest();
  m.hostIsas = {"portable", "avx1024"};
  absl::StatusOr<ArtifactContents> parsed =
      parseArtifact(serializeArtifact(m, {"P", "X"}), "a.mstream");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->hostIsa, "portable");
  EXPECT_EQ(parsed->object, "P");
  EXPECT_EQ(parsed->manifest.hostIsas, m.hostIsas);
  m.hostIsas = hostIsas();
  std::vector<std::string> objects;
  for (const std::string &isa : m.hostIsas)
    objects.push_back("code for " + isa);
  parsed = parseArtifact(serializeArtifact(m, objects), "a.mstream");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->hostIsa, bestHostIsa());
  EXPECT_EQ(parsed->object, "code for " + bestHostIsa());
}

/// `bytes`, an artifact without its last `cut` bytes and checksum, with
/// `extra` appended and a new checksum (FNV-1a, as the format's): a file
/// whose manifest and objects disagree but whose checksum holds.
std::string resealed(const std::string &bytes, size_t cut,
                     absl::string_view extra) {
  std::string out = bytes.substr(0, bytes.size() - 8 - cut);
  out.append(extra.data(), extra.size());
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : out)
    hash = (hash ^ c) * 0x100000001b3ull;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(hash >> (8 * i)));
  return out;
}

TEST(ArtifactTest, FatArtifactObjectsMustFillTheFile) {
  Manifest m = sampleManifest();
  m.hostIsas = {"portable", "portable"};
  std::string two = serializeArtifact(m, {"P", "Q"});
  ASSERT_TRUE(parseArtifact(two, "a").ok());
  auto message = [](const std::string &damaged) {
    return std::string(parseArtifact(damaged, "a").status().message());
  };
  // One object more than the manifest names: the size-prefixed "Q".
  std::string one = serializeArtifact(sampleManifest(), {"P"});
  EXPECT_NE(message(resealed(one, 0, std::string("\1\0\0\0\0\0\0\0Q", 9)))
                .find("object sizes do not match the file"),
            std::string::npos);
  // One less: without the size-prefixed "Q".
  EXPECT_NE(message(resealed(two, 9, "")).find("truncated object"),
            std::string::npos);
}

TEST(ArtifactTest, CorruptManifestLineIsNamed) {
  absl::StatusOr<Manifest> parsed =
      parseManifest("compiler 0.1.0\nparam x 2,q normal 0.02 matrix\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "corrupt manifest line 2: 'param x 2,q normal 0.02 matrix'");
}

} // namespace
