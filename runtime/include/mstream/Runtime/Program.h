//===- Program.h - a loaded artifact and its entry points -------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_PROGRAM_H
#define MSTREAM_RUNTIME_PROGRAM_H

#include "mstream/Runtime/Artifact.h"
#include "mstream/Runtime/Device.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mstream::rt {

class Program {
public:
  /// Loads and validates an artifact and its host code.
  static absl::StatusOr<std::unique_ptr<Program>> load(const std::string &path);
  /// Loads artifact bytes held in memory; `name` stands for the file in
  /// messages.
  static absl::StatusOr<std::unique_ptr<Program>>
  fromBytes(absl::string_view bytes, const std::string &name);
  ~Program();
  Program(const Program &) = delete;
  Program &operator=(const Program &) = delete;

  const Manifest &manifest() const { return manifest_; }
  /// The instruction set of the loaded host code, the newest of
  /// manifest().hostIsas this CPU runs.
  const std::string &hostIsa() const { return hostIsa_; }

  /// Runs `entry` on `inputs` (in the entry's order) and `params` (in table
  /// order); returns its outputs. Shapes, dtypes and token ranges are
  /// checked first: generated code never sees an out-of-range index.
  /// On a device, the parameters and tensor inputs keep the device copy
  /// they are given (and later calls use it), and the outputs have only a
  /// device copy except scalars, which come back with the call.
  absl::StatusOr<std::vector<Tensor>>
  run(absl::string_view entry, const std::vector<const Tensor *> &inputs,
      std::vector<Tensor> &params);

  /// Keeps `outputs`, the result of an earlier run of `entry` that its
  /// caller no longer needs, to hold that entry's next outputs: a train
  /// step's new parameters and optimizer state go to the buffers of the
  /// ones they replace instead of fresh zero-filled ones (300 MB a step at
  /// d=512, L=8). An entry writes every element of every output, so what a
  /// buffer held before is never read.
  void recycle(absl::string_view entry, std::vector<Tensor> outputs);

  /// Whether entries run on a device (a cuda artifact, or a cpu artifact
  /// loaded with MSTREAM_SIMULATE_DEVICE=1).
  bool onDevice() const { return device_ != nullptr; }
  /// What the last run moved and launched (all zero off a device).
  CallCounters lastCall() const;

private:
  Program(Manifest manifest, std::string hostIsa, void *library,
          std::unique_ptr<Device> device)
      : manifest_(std::move(manifest)), hostIsa_(std::move(hostIsa)),
        library_(library), device_(std::move(device)) {}

  /// Runs an entry on the device: arguments placed, outputs allocated.
  absl::StatusOr<std::vector<Tensor>>
  runOnDevice(const EntrySpec &entry, void (*fn)(void **),
              const std::vector<const Tensor *> &inputs,
              std::vector<Tensor> &params);
  /// The device address of `tensor`, uploading it first where it has no
  /// device copy: into the entry's staging buffer for input `slot` when
  /// `staged`, to stay with the tensor otherwise.
  absl::StatusOr<void *> place(const Tensor &tensor, absl::string_view entry,
                               size_t slot, bool staged,
                               CallCounters &counters);

  /// The outputs of a run of `entry`: recycled buffers where their dtype
  /// and shape match, zero-filled ones elsewhere.
  std::vector<Tensor> outputBuffers(absl::string_view entry,
                                    const std::vector<ArgSpec> &specs);
  /// The outputs of a run on the device: the device buffers of recycled
  /// outputs where their sizes match, new ones elsewhere.
  absl::StatusOr<std::vector<Tensor>>
  deviceOutputs(absl::string_view entry, const std::vector<ArgSpec> &specs);
  std::vector<Tensor> takeRecycled(absl::string_view entry);

  Manifest manifest_;
  std::string hostIsa_;
  void *library_;
  std::unique_ptr<Device> device_;
  /// Per entry, the device buffers its staged inputs (token batches and
  /// scalars) are copied into: the same addresses every call, so a captured
  /// CUDA graph stays valid.
  std::map<std::string, std::vector<std::shared_ptr<DeviceBuffer>>> staging_;
  CallCounters lastCall_;
  /// One call at a time on the device (its stream, staging and graphs).
  mutable std::mutex deviceMutex_;
  std::mutex recycledMutex_;
  std::map<std::string, std::vector<Tensor>> recycled_;
};

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_PROGRAM_H
