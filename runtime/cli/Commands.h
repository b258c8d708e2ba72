//===- Commands.h - pieces shared by the runtime's commands -----*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_CLI_COMMANDS_H
#define MSTREAM_RUNTIME_CLI_COMMANDS_H

#include "mstream/Runtime/Cli.h"
#include "mstream/Runtime/Program.h"

namespace mstream::rt {

/// Whether `path` holds an artifact (else a model definition); an
/// unreadable file is an error.
absl::StatusOr<bool> isArtifact(const std::string &path);

/// An error unless `hooks` can compile the definition at `path`.
absl::Status needsCompiler(const std::string &path, const CompilerHooks *hooks);

/// Loads `model` as an artifact, or compiles a definition as `request`
/// says first, with host code for this CPU (it runs only here).
absl::StatusOr<std::unique_ptr<Program>>
loadProgram(const std::string &model, const CompileRequest &request,
            const CompilerHooks *hooks);

absl::Status runPrepare(const std::string &text);
absl::Status runTrain(const std::string &model, const CompilerHooks *hooks);
absl::Status runSample(const std::string &weights, const CompilerHooks *hooks);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_CLI_COMMANDS_H
