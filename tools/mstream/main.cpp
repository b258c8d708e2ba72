//===- main.cpp - the mstream command -------------------------------------===//
//
//   mstream --help | --version
//   mstream compile CONFIG.json ...           (with the compiler)
//   mstream init | eval | prepare | train | sample ...
//
// A runtime-only build (MSTREAM_BUILD_COMPILER=OFF) runs artifacts compiled
// elsewhere and has no compile command.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#ifdef MSTREAM_WITH_COMPILER
#include "llvm/Support/InitLLVM.h"
#endif

#include <cstdio>
#include <cstring>

namespace {

constexpr const char *kCompileSummary =
    "compile a model definition (JSON) to IR, LLVM IR, a cubin or an artifact";

void printUsage(std::FILE *out) {
  std::fprintf(out, "mstream: a compiler and runtime for optimizer-inspired "
                    "Transformers\n\nusage: mstream COMMAND [ARGS] [FLAGS]\n\n"
                    "commands:\n");
#ifdef MSTREAM_WITH_COMPILER
  std::fprintf(out, "  %-8s %s\n", "compile", kCompileSummary);
#endif
  for (const mstream::cli::Command &command : mstream::cli::runtimeCommands())
    std::fprintf(out, "  %-8s %s\n", command.name, command.summary);
#ifdef MSTREAM_WITH_COMPILER
  std::fprintf(
      out, "\nexamples:\n"
           "  mstream compile CONFIG.json --emit=mlir   print the imported "
           "IR\n"
           "  mstream compile CONFIG.json --target=cpu -o MODEL.mstream\n"
           "  mstream train CONFIG.json --data DIR --out RUN --steps 800\n");
#else
  std::fprintf(
      out, "\nexamples (MODEL.mstream compiled elsewhere with 'mstream "
           "compile'):\n"
           "  mstream init MODEL.mstream -o W.safetensors\n"
           "  mstream train MODEL.mstream --data DIR --out RUN --steps 800\n");
#endif
  std::fprintf(out, "\nRun 'mstream COMMAND --help' for a command's flags, "
                    "'mstream --version' for the build.\n");
}

void printVersion() {
  std::printf("mstream %s\n", MSTREAM_VERSION);
#ifdef MSTREAM_WITH_COMPILER
  std::printf("compiler: LLVM/MLIR %s\n", MSTREAM_LLVM_VERSION);
#else
  std::printf("compiler: not built (runtime only)\n");
#endif
#ifdef MSTREAM_WITH_CUDA
  std::printf("cuda: enabled\n");
#else
  std::printf("cuda: disabled\n");
#endif
}

} // namespace

int main(int argc, char **argv) {
#ifdef MSTREAM_WITH_COMPILER
  llvm::InitLLVM init(argc, argv);
#endif
  if (argc < 2) {
    printUsage(stderr);
    return 1;
  }
  const char *name = argv[1];
  if (!std::strcmp(name, "--help") || !std::strcmp(name, "-h") ||
      !std::strcmp(name, "help")) {
    printUsage(stdout);
    return 0;
  }
  if (!std::strcmp(name, "--version")) {
    printVersion();
    return 0;
  }
  if (!std::strcmp(name, "compile")) {
#ifdef MSTREAM_WITH_COMPILER
    return mstream::cli::runCompileCommand(argc, argv);
#else
    std::fprintf(stderr, "mstream: error: this mstream was built without the "
                         "compiler (MSTREAM_BUILD_COMPILER=OFF); it runs "
                         "artifacts compiled elsewhere\n");
    return 1;
#endif
  }
  for (const mstream::cli::Command &command : mstream::cli::runtimeCommands()) {
    if (std::strcmp(name, command.name))
      continue;
#ifdef MSTREAM_WITH_COMPILER
    mstream::cli::CompilerHooks hooks = mstream::cli::compilerHooks();
    return mstream::cli::runCommand(command, argc, argv, &hooks);
#else
    return mstream::cli::runCommand(command, argc, argv, nullptr);
#endif
  }
  std::fprintf(stderr,
               "mstream: error: unknown command '%s'; see 'mstream --help'\n",
               name);
  return 1;
}
