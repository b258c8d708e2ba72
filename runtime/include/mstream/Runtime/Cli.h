//===- Cli.h - the runtime's command-line commands --------------*- C++ -*-===//
//
// `mstream init` and `mstream eval`. They run on artifacts; a driver built
// with the compiler also lets them take a model definition (JSON), through
// CompilerHooks.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_CLI_H
#define MSTREAM_RUNTIME_CLI_H

#include "mstream/Frontend/CompileRequest.h"
#include "mstream/Frontend/ParamTable.h"

#include "absl/status/statusor.h"

#include <functional>
#include <string>
#include <vector>

namespace mstream::rt {

struct CompilerHooks {
  /// The parameter table of a model definition.
  std::function<absl::StatusOr<std::vector<ParamSpec>>(const std::string &)>
      paramTable;
  /// Compiles a model definition into artifact bytes.
  std::function<absl::StatusOr<std::string>(const std::string &,
                                            const CompileRequest &)>
      compile;
};

/// The runtime commands; `hooks` is null when built without the compiler.
/// argv[1] is the command. Returns the process exit code.
int runRuntimeCommand(int argc, char **argv, const CompilerHooks *hooks);

/// The names and one-line summaries of the runtime commands.
std::vector<std::pair<std::string, std::string>> runtimeCommands();

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_CLI_H
