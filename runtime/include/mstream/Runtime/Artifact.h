//===- Artifact.h - the compiled-model file format --------------*- C++ -*-===//
//
// One self-contained file:
//   "MSTREAMA" | u32 format | u32 0 | u64 n | manifest (n bytes, text)
//   | per instruction set of the manifest's host_isa line, in its order:
//     u64 m | host shared object (m bytes)
//   | u64 FNV-1a of all before
// The manifest is line based: version stamps, target, the model definition,
// the step shape, the parameter table and every entry point's signature.
// Entry points are called with (inputs..., parameters..., outputs...).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_ARTIFACT_H
#define MSTREAM_RUNTIME_ARTIFACT_H

#include "mstream/Model/ParamTable.h"
#include "mstream/Runtime/Tensor.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <string>
#include <utility>
#include <vector>

namespace mstream::rt {

/// 3: the manifest names the precision.
inline constexpr uint32_t kArtifactFormat = 3;

/// The version stamp compiler and runtime must agree on.
const char *runtimeVersion();
/// "cpu-x86_64" etc.: the target this runtime executes.
std::string hostTarget();
/// "cuda-sm_90-x86_64" etc.: kernels for `chip`, host code for this host.
std::string cudaTarget(absl::string_view chip);
/// The GPU architecture of a cuda target ("sm_90"), or "" for another.
std::string cudaChipOf(absl::string_view target);

struct ArgSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

struct EntrySpec {
  std::string name;
  std::vector<ArgSpec> inputs;
  std::vector<ArgSpec> outputs;
};

struct Manifest {
  std::string compilerVersion;
  std::string target;
  /// The instruction sets the artifact has host code for, oldest first
  /// (HostIsa.h).
  std::vector<std::string> hostIsas = {"portable"};
  /// "fp32" or "bf16" (docs/precision.md): what the compiled products
  /// compute in. Parameters, state and every entry's arguments are f32
  /// either way.
  std::string precision = "fp32";
  /// The model definition's keys and values, in order.
  std::vector<std::pair<std::string, std::string>> model;
  /// The weight optimizer's compile-time settings (recipe, max_norm) when
  /// the artifact has a train_step entry.
  std::vector<std::pair<std::string, std::string>> optimizer;
  int64_t batch = 0;
  int64_t seq = 0;
  std::vector<mstream::ParamSpec> params;
  std::vector<EntrySpec> entries;

  /// The model value of `key`, or "" if absent.
  std::string modelValue(absl::string_view key) const;
  /// The optimizer value of `key`, or "" if absent.
  std::string optimizerValue(absl::string_view key) const;
  const EntrySpec *findEntry(absl::string_view name) const;
};

std::string serializeManifest(const Manifest &manifest);
absl::StatusOr<Manifest> parseManifest(absl::string_view text);

/// `objects` holds the host code for each of manifest.hostIsas, in order.
std::string serializeArtifact(const Manifest &manifest,
                              const std::vector<std::string> &objects);

struct ArtifactContents {
  Manifest manifest;
  /// The newest of manifest.hostIsas this CPU runs, and its host code.
  std::string hostIsa;
  std::string object;
};

/// Checks magic, format, sizes, checksum and version stamps, and picks the
/// host code of the newest instruction set this CPU runs; refuses an
/// artifact with none.
absl::StatusOr<ArtifactContents> parseArtifact(absl::string_view bytes,
                                               const std::string &path);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_ARTIFACT_H
