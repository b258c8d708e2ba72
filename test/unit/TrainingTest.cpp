//===- TrainingTest.cpp - schedules, the sampler and checkpoints ----------===//

#include "mstream/Runtime/Checkpoint.h"
#include "mstream/Runtime/Schedule.h"
#include "mstream/Runtime/TokenData.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

using namespace mstream::rt;

namespace {

TEST(ScheduleTest, CosineWarmupAndFloor) {
  Schedule schedule;
  schedule.steps = 100;
  schedule.warmup = 10;
  EXPECT_EQ(schedule.multiplier(0), 0.0);
  EXPECT_DOUBLE_EQ(schedule.multiplier(5), 0.5);
  EXPECT_DOUBLE_EQ(schedule.multiplier(10), 1.0);
  // Halfway through the cosine: 0.1 + 0.9 * 0.5.
  EXPECT_DOUBLE_EQ(schedule.multiplier(55), 0.55);
  EXPECT_GT(schedule.multiplier(99), 0.1);
  EXPECT_LT(schedule.multiplier(99), 0.101);
}

TEST(ScheduleTest, WsdIsFlatThenLinear) {
  Schedule schedule;
  schedule.kind = Schedule::Kind::Wsd;
  schedule.steps = 100;
  schedule.warmup = 10;
  schedule.decayStart = 80;
  EXPECT_DOUBLE_EQ(schedule.multiplier(79), 1.0);
  EXPECT_DOUBLE_EQ(schedule.multiplier(90), 0.55);
  EXPECT_DOUBLE_EQ(schedule.multiplier(100), 0.1);
}

TEST(ScheduleTest, ValidationNamesTheFlag) {
  Schedule schedule;
  schedule.steps = 10;
  schedule.warmup = 10;
  absl::Status status = schedule.validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("--warmup must lie in [0, steps = 10)"),
            std::string::npos);
}

TokenCorpus corpus(int64_t n) {
  TokenCorpus corpus;
  for (int64_t i = 0; i < n; ++i)
    corpus.tokens.push_back(static_cast<int32_t>(i));
  return corpus;
}

TEST(BlockSamplerTest, FirstEpochVisitsEveryBlockOnce) {
  TokenCorpus data = corpus(8 * 10 + 1);
  BlockSampler sampler(data, /*seq=*/8, /*seed=*/3);
  Tensor tokens = Tensor::zeros(DType::I32, {2, 8});
  Tensor targets = tokens;
  std::set<int32_t> starts;
  for (int i = 0; i < 5; ++i) {
    sampler.next(tokens, targets);
    for (int b = 0; b < 2; ++b) {
      int32_t start = tokens.i32()[b * 8];
      EXPECT_EQ(start % 8, 0);
      // Targets are the inputs shifted by one.
      EXPECT_EQ(targets.i32()[b * 8], start + 1);
      EXPECT_EQ(targets.i32()[b * 8 + 7], start + 8);
      starts.insert(start);
    }
  }
  EXPECT_EQ(starts.size(), 10u);
  EXPECT_EQ(sampler.position().epoch, 0);
  EXPECT_EQ(sampler.position().cursor, 10);
}

TEST(BlockSamplerTest, ResumesFromItsPosition) {
  TokenCorpus data = corpus(8 * 5 + 1);
  Tensor tokens = Tensor::zeros(DType::I32, {3, 8});
  Tensor targets = tokens;
  BlockSampler straight(data, 8, 9);
  for (int i = 0; i < 4; ++i)
    straight.next(tokens, targets);
  Tensor expected = tokens;

  BlockSampler first(data, 8, 9);
  for (int i = 0; i < 3; ++i)
    first.next(tokens, targets);
  // Epoch 1 has begun (15 blocks requested from 5).
  EXPECT_EQ(first.position().epoch, 1);
  BlockSampler second(data, 8, 9, first.position());
  second.next(tokens, targets);
  EXPECT_EQ(tokens.host(), expected.host());
}

TEST(TokenDataTest, RejectsOutOfVocabularyTokens) {
  std::string path = ::testing::TempDir() + "/tokens.bin";
  FILE *file = std::fopen(path.c_str(), "wb");
  const unsigned char bytes[] = {1, 0, 44, 1};
  std::fwrite(bytes, 1, sizeof bytes, file);
  std::fclose(file);
  absl::StatusOr<TokenCorpus> read = readTokenFile(path, 256);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find(
                "token 300 at index 1 is outside the model's vocabulary"),
            std::string::npos);
}

TEST(CheckpointTest, RoundTripsStateAndPosition) {
  Manifest manifest;
  manifest.params = {{"w",
                      {2, 2},
                      mstream::InitRule::Normal,
                      0.02,
                      mstream::ParamGroup::Matrix}};
  EntrySpec step{"train_step", {}, {}};
  for (const char *name : {"tokens", "targets", "lr.matrix", "lr.embedding",
                           "lr.ln", "lr.scalar", "step"})
    step.inputs.push_back({name, DType::F32, {}});
  step.inputs.push_back({"w.momentum_buffer", DType::F32, {2, 2}});
  manifest.entries = {step};

  TrainingState state;
  state.params = {Tensor::zeros(DType::F32, {2, 2})};
  state.params[0].f32()[3] = 1.5f;
  state.optimizer = zeroOptimizerState(manifest);
  state.optimizer[0].f32()[1] = -2.0f;
  state.step = 17;
  state.position = {2, 5};
  state.bestVal = 1.0 / 3.0;
  std::string path = ::testing::TempDir() + "/ckpt.safetensors";
  ASSERT_TRUE(
      saveCheckpoint(path, manifest, state, {{"mstream.seed", "4"}}).ok());

  Metadata settings;
  absl::StatusOr<TrainingState> loaded =
      loadCheckpoint(path, manifest, settings);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, 17);
  EXPECT_EQ(loaded->position.epoch, 2);
  EXPECT_EQ(loaded->position.cursor, 5);
  EXPECT_EQ(loaded->bestVal, 1.0 / 3.0);
  EXPECT_EQ(loaded->params[0].f32()[3], 1.5f);
  EXPECT_EQ(loaded->optimizer[0].f32()[1], -2.0f);
  EXPECT_EQ(settings["mstream.seed"], "4");
}

} // namespace
