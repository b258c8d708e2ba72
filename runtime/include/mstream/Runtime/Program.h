//===- Program.h - a loaded artifact and its entry points -------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_PROGRAM_H
#define MSTREAM_RUNTIME_PROGRAM_H

#include "mstream/Runtime/Artifact.h"

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

private:
  Program(Manifest manifest, std::string hostIsa, void *library)
      : manifest_(std::move(manifest)), hostIsa_(std::move(hostIsa)),
        library_(library) {}

  /// The outputs of a run of `entry`: recycled buffers where their dtype
  /// and shape match, zero-filled ones elsewhere.
  std::vector<Tensor> outputBuffers(absl::string_view entry,
                                    const std::vector<ArgSpec> &specs);

  Manifest manifest_;
  std::string hostIsa_;
  void *library_;
  std::mutex recycledMutex_;
  std::map<std::string, std::vector<Tensor>> recycled_;
};

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_PROGRAM_H
