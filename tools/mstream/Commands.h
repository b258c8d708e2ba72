//===- Commands.h - the mstream command's subcommands -----------*- C++ -*-===//
//
// `mstream COMMAND ...`: compile (only in a build with the compiler) and the
// runtime's commands, init, eval, prepare, train and sample. The runtime's
// commands run on artifacts; with the compiler they also take a model
// definition (JSON), through CompilerHooks.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_TOOLS_MSTREAM_COMMANDS_H
#define MSTREAM_TOOLS_MSTREAM_COMMANDS_H

#include "mstream/Model/CompileRequest.h"
#include "mstream/Model/ParamTable.h"
#include "mstream/Runtime/Program.h"

#include "absl/status/statusor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mstream::cli {

/// What the runtime's commands need from the compiler.
struct CompilerHooks {
  /// The parameter table of a model definition.
  std::function<absl::StatusOr<std::vector<ParamSpec>>(const std::string &)>
      paramTable;
  /// Compiles a model definition into artifact bytes.
  std::function<absl::StatusOr<std::string>(const std::string &,
                                            const CompileRequest &)>
      compile;
};

/// A flag as `mstream CMD --help` shows it: the spelling users type
/// (hyphens), a placeholder for its value (empty for a boolean flag; the
/// flag's Abseil type decides) and one line of help.
struct FlagDoc {
  const char *name;
  const char *value;
  const char *help;
};

/// One of the runtime's commands.
struct Command {
  const char *name;
  const char *summary;
  const char *usage;
  std::vector<FlagDoc> flags;
  absl::Status (*run)(const std::string &argument, const CompilerHooks *hooks);
};

/// init, eval, prepare, train and sample, in that order.
const std::vector<Command> &runtimeCommands();

/// Runs `command` on argv (argv[1] is its name): checks that every flag is
/// one the command takes, prints its help for --help, parses the flags and
/// runs it. `hooks` is null without the compiler. Returns the exit code.
int runCommand(const Command &command, int argc, char **argv,
               const CompilerHooks *hooks);

/// `mstream compile ...` (argv[1] is "compile"), and the compiler's hooks.
/// Defined only in a build with the compiler.
int runCompileCommand(int argc, char **argv);
CompilerHooks compilerHooks();

/// Whether `path` holds an artifact (else a model definition); an
/// unreadable file is an error.
absl::StatusOr<bool> isArtifact(const std::string &path);

/// An error unless `hooks` can compile the definition at `path`.
absl::Status needsCompiler(const std::string &path, const CompilerHooks *hooks);

/// Sets `precision` from --precision when it is given; an error names a
/// value other than fp32 or bf16.
absl::Status precisionFlag(std::string &precision);

/// Loads `model` as an artifact (refusing one compiled for another
/// --precision than the flag asks), or compiles a definition as `request`
/// says first, with host code for this CPU (it runs only here).
absl::StatusOr<std::unique_ptr<rt::Program>>
loadProgram(const std::string &model, const CompileRequest &request,
            const CompilerHooks *hooks);

absl::Status runInit(const std::string &model, const CompilerHooks *hooks);
absl::Status runEval(const std::string &model, const CompilerHooks *hooks);
absl::Status runPrepare(const std::string &text, const CompilerHooks *hooks);
absl::Status runTrain(const std::string &model, const CompilerHooks *hooks);
absl::Status runSample(const std::string &weights, const CompilerHooks *hooks);

} // namespace mstream::cli

#endif // MSTREAM_TOOLS_MSTREAM_COMMANDS_H
