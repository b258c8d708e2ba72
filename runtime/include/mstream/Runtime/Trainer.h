//===- Trainer.h - the training loop ----------------------------*- C++ -*-===//
//
// Runs an artifact's train_step over a data directory (the paper's recipe,
// docs/training.md, scaled down): the sampler, the lr schedule as runtime
// scalars, validation every K steps and at the end, a progress line,
// RUN/metrics.jsonl, atomic checkpoints (RUN/checkpoint.safetensors,
// RUN/best.safetensors) and bit-identical resumption. A non-finite loss stops
// the run with the step.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_TRAINER_H
#define MSTREAM_RUNTIME_TRAINER_H

#include "mstream/Runtime/Program.h"
#include "mstream/Runtime/Schedule.h"

#include <functional>

namespace mstream::rt {

/// A learning rate per optimizer group (the order of train_step's inputs).
struct LearningRates {
  double matrix = 0.02, embedding = 6e-4, ln = 6e-4, scalar = 3e-3;

  LearningRates scaled(double multiplier) const {
    return {matrix * multiplier, embedding * multiplier, ln * multiplier,
            scalar * multiplier};
  }
};

/// The peak rates of a recipe: "hybrid" (docs/training.md, TinyStories; also
/// the default) or "adamw" (6e-4 everywhere).
LearningRates peakLearningRates(const std::string &recipe);

/// What one train_step call reports.
struct StepOutputs {
  double loss = 0, gradNorm = 0;
};

/// Runs `program`'s train_step once with per-group rates `lr` and the step
/// count `step` (from 1), replacing `params` and `optimizer` (train_step's
/// state, in its order) with the updated ones. The loss is the one before
/// the update.
absl::StatusOr<StepOutputs> runTrainStep(Program &program, const Tensor &tokens,
                                         const Tensor &targets,
                                         const LearningRates &lr, int64_t step,
                                         std::vector<Tensor> &optimizer,
                                         std::vector<Tensor> &params);

struct StepReport {
  int64_t step = 0;
  double loss = 0, lrMultiplier = 0, gradNorm = 0;
  double msPerStep = 0, tokensPerSecond = 0;
  /// Set on the steps that ran a validation (before the update).
  bool evaluated = false;
  double valLoss = 0;
};

struct TrainOptions {
  std::string dataDir;
  std::string outDir = "run";
  /// warmup < 0 means steps / 10; decayStart < 0 means 83% of the steps.
  Schedule schedule = {Schedule::Kind::Cosine, 1000, -1, -1, 0.1};
  /// Peak rates, scaled each step by the schedule.
  LearningRates lr;
  int64_t evalEvery = 100;
  int64_t valBatches = 20;
  int64_t logEvery = 10;
  /// < 1 means evalEvery.
  int64_t checkpointEvery = 0;
  uint64_t seed = 42;
  bool resume = false;
  /// Stop (with a checkpoint) once this many steps are done, < 0: never;
  /// the schedule stays that of `schedule.steps`, so --resume continues.
  int64_t stopAt = -1;
  /// The model definition's text, kept as RUN/config.json and in the
  /// weights' metadata so `mstream sample` can rebuild the model.
  std::string configText;
  /// Starting parameters (table order); empty: the init of docs/models.md from
  /// seed.
  std::vector<Tensor> initialParams;
  /// Called after every step (the Python Trainer's callback).
  std::function<void(const StepReport &)> onStep;
};

/// Trains `program` (which must have train_step and loss) as `options` say;
/// the final parameters go to `finalParams` when given.
absl::Status train(Program &program, const TrainOptions &options,
                   std::vector<Tensor> *finalParams = nullptr);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_TRAINER_H
