//===- Checkpoint.cpp - training state on disk ----------------------------===//

#include "mstream/Runtime/Checkpoint.h"

#include "mstream/Runtime/Params.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mstream::rt {

namespace {

/// train_step's inputs before the optimizer state: data and scalars.
constexpr size_t kLeadingInputs = 7;

constexpr const char *kStep = "mstream.step";
constexpr const char *kEpoch = "mstream.epoch";
constexpr const char *kCursor = "mstream.cursor";
constexpr const char *kBestVal = "mstream.best_val";

} // namespace

std::vector<std::string> optimizerStateNames(const Manifest &manifest) {
  std::vector<std::string> names;
  if (const EntrySpec *entry = manifest.findEntry("train_step"))
    for (size_t i = kLeadingInputs; i < entry->inputs.size(); ++i)
      names.push_back(entry->inputs[i].name);
  return names;
}

std::vector<Tensor> zeroOptimizerState(const Manifest &manifest) {
  std::vector<Tensor> state;
  if (const EntrySpec *entry = manifest.findEntry("train_step"))
    for (size_t i = kLeadingInputs; i < entry->inputs.size(); ++i)
      state.push_back(Tensor::zeros(DType::F32, entry->inputs[i].shape));
  return state;
}

absl::Status saveCheckpoint(const std::string &path, const Manifest &manifest,
                            const TrainingState &state,
                            const Metadata &settings) {
  NamedTensors tensors = nameParams(manifest.params, state.params);
  std::vector<std::string> names = optimizerStateNames(manifest);
  for (size_t i = 0; i < names.size(); ++i)
    tensors.emplace_back(names[i], state.optimizer[i]);
  Metadata metadata = settings;
  metadata[kStep] = absl::StrCat(state.step);
  metadata[kEpoch] = absl::StrCat(state.position.epoch);
  metadata[kCursor] = absl::StrCat(state.position.cursor);
  metadata[kBestVal] = absl::StrFormat("%.17g", state.bestVal);
  return writeSafetensors(path, tensors, metadata);
}

absl::StatusOr<TrainingState> loadCheckpoint(const std::string &path,
                                             const Manifest &manifest,
                                             Metadata &settings) {
  Metadata metadata;
  absl::StatusOr<NamedTensors> loaded = readSafetensors(path, &metadata);
  if (!loaded.ok())
    return loaded.status();
  TrainingState state;
  auto integer = [&](const char *key, int64_t &out) {
    auto it = metadata.find(key);
    return it != metadata.end() && absl::SimpleAtoi(it->second, &out);
  };
  auto found = metadata.find(kBestVal);
  if (!integer(kStep, state.step) || !integer(kEpoch, state.position.epoch) ||
      !integer(kCursor, state.position.cursor) || found == metadata.end() ||
      !absl::SimpleAtod(found->second, &state.bestVal))
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a training checkpoint (its metadata lacks the step, "
              "the data position or the best validation loss)"));

  // Split the tensors into parameters and optimizer state by name.
  std::vector<std::string> names = optimizerStateNames(manifest);
  std::map<std::string, size_t> stateIndex;
  for (size_t i = 0; i < names.size(); ++i)
    stateIndex[names[i]] = i;
  NamedTensors params;
  state.optimizer.resize(names.size());
  std::vector<bool> seen(names.size());
  for (auto &[name, tensor] : *loaded) {
    auto it = stateIndex.find(name);
    if (it == stateIndex.end()) {
      params.emplace_back(name, std::move(tensor));
      continue;
    }
    const std::vector<int64_t> &shape =
        manifest.findEntry("train_step")
            ->inputs[kLeadingInputs + it->second]
            .shape;
    if (tensor.shape != shape)
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": optimizer state '", name, "' is ", formatShape(tensor.shape),
          ", expected ", formatShape(shape)));
    state.optimizer[it->second] = std::move(tensor);
    seen[it->second] = true;
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (!seen[i])
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": optimizer state '", names[i],
                       "' is missing (was it written with another recipe?)"));
  absl::StatusOr<std::vector<Tensor>> bound =
      bindParams(manifest.params, std::move(params), path);
  if (!bound.ok())
    return bound.status();
  state.params = std::move(*bound);
  for (auto &[key, value] : metadata)
    if (key != kStep && key != kEpoch && key != kCursor && key != kBestVal)
      settings[key] = value;
  return state;
}

} // namespace mstream::rt
