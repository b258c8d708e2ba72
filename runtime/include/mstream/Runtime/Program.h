//===- Program.h - a loaded artifact and its entry points -------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_PROGRAM_H
#define MSTREAM_RUNTIME_PROGRAM_H

#include "mstream/Runtime/Artifact.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <memory>

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

  /// Runs `entry` on `inputs` (in the entry's order) and `params` (in table
  /// order); returns its outputs. Shapes, dtypes and token ranges are
  /// checked first: generated code never sees an out-of-range index.
  absl::StatusOr<std::vector<Tensor>>
  run(absl::string_view entry, const std::vector<const Tensor *> &inputs,
      std::vector<Tensor> &params);

private:
  Program(Manifest manifest, void *library)
      : manifest_(std::move(manifest)), library_(library) {}

  Manifest manifest_;
  void *library_;
};

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_PROGRAM_H
