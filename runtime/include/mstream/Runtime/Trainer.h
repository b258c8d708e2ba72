//===- Trainer.h - the training loop ----------------------------*- C++ -*-===//
//
// Runs an artifact's train_step over a data directory (SPEC.md §5 scaled
// down): the sampler, the lr schedule as runtime scalars, validation every
// K steps and at the end, a progress line, RUN/metrics.jsonl, atomic
// checkpoints (RUN/checkpoint.safetensors, RUN/best.safetensors) and
// bit-identical resumption. A non-finite loss stops the run with the step.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_TRAINER_H
#define MSTREAM_RUNTIME_TRAINER_H

#include "mstream/Runtime/Program.h"
#include "mstream/Runtime/Schedule.h"

#include <functional>

namespace mstream::rt {

/// Peak learning rates per optimizer group (SPEC.md §5.2 TinyStories).
struct PeakLearningRates {
  double matrix = 0.02, embedding = 6e-4, ln = 6e-4, scalar = 3e-3;
};

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
  Schedule schedule;
  PeakLearningRates lr;
  int64_t evalEvery = 100;
  int64_t valBatches = 20;
  int64_t logEvery = 10;
  int64_t checkpointEvery = 100;
  uint64_t seed = 42;
  bool resume = false;
  /// Stop (with a checkpoint) once this many steps are done, < 0: never;
  /// the schedule stays that of `schedule.steps`, so --resume continues.
  int64_t stopAt = -1;
  /// The model definition's text, kept as RUN/config.json and in the
  /// weights' metadata so `mstream sample` can rebuild the model.
  std::string configText;
  /// Starting parameters (table order); empty: SPEC.md §1 init from seed.
  std::vector<Tensor> initialParams;
  /// Called after every step (the Python Trainer's callback).
  std::function<void(const StepReport &)> onStep;
};

/// Trains `program` (which must have train_step and loss) as `options` say.
absl::Status train(Program &program, const TrainOptions &options);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_TRAINER_H
