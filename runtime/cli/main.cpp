//===- main.cpp - mstream without the compiler ----------------------------===//
//
// The `mstream` of a runtime-only build (MSTREAM_BUILD_COMPILER=OFF): runs
// artifacts compiled elsewhere.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Cli.h"

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  for (const auto &[name, summary] : mstream::rt::runtimeCommands())
    if (argc > 1 && name == argv[1])
      return mstream::rt::runRuntimeCommand(argc, argv, nullptr);
  std::printf("mstream (runtime only): run compiled models\n\n");
  for (const auto &[name, summary] : mstream::rt::runtimeCommands())
    std::printf("  %-8s %s\n", name.c_str(), summary.c_str());
  std::printf("\nRun 'mstream COMMAND --helpshort' for a command's flags.\n");
  return argc > 1 && std::strcmp(argv[1], "--help") == 0 ? 0 : 1;
}
