//===- Checkpoint.h - training state on disk --------------------*- C++ -*-===//
//
// A checkpoint is one safetensors file: the parameters under their
// state_dict names, the optimizer state under PyTorch-like names
// ("<param>.exp_avg", ...), and in `__metadata__` the step, the sampler
// position, the best validation loss and the run's settings. It is written
// atomically: a failed or killed save leaves the previous file loadable.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CHECKPOINT_H
#define MSTREAM_RUNTIME_CHECKPOINT_H

#include "mstream/Runtime/Artifact.h"
#include "mstream/Runtime/Safetensors.h"
#include "mstream/Runtime/TokenData.h"

#include <limits>

namespace mstream::rt {

struct TrainingState {
  std::vector<Tensor> params;
  /// In the order of train_step's state inputs.
  std::vector<Tensor> optimizer;
  /// Optimizer steps taken.
  int64_t step = 0;
  SamplerPosition position;
  double bestVal = std::numeric_limits<double>::infinity();
};

/// The names of train_step's state inputs, in order.
std::vector<std::string> optimizerStateNames(const Manifest &manifest);

/// Zero optimizer state for `manifest`'s train_step.
std::vector<Tensor> zeroOptimizerState(const Manifest &manifest);

/// Writes `state` plus `settings` (recorded in the metadata) to `path`.
absl::Status saveCheckpoint(const std::string &path, const Manifest &manifest,
                            const TrainingState &state,
                            const Metadata &settings);

/// Reads a checkpoint written for `manifest`; `settings` receives the
/// recorded run settings.
absl::StatusOr<TrainingState> loadCheckpoint(const std::string &path,
                                             const Manifest &manifest,
                                             Metadata &settings);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_CHECKPOINT_H
