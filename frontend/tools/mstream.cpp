//===- mstream.cpp - the mstream command-line driver ----------------------===//
//
//   mstream compile CONFIG.json --emit=mlir [--batch B] [--seq T] [-o FILE]
//
//===----------------------------------------------------------------------===//

#include "mstream/Frontend/Importer.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

namespace {

enum class Emit { Mlir };

// libLLVM registers its backends' options globally; --help shows only ours.
cl::OptionCategory mstreamCategory("mstream options");

cl::SubCommand
    compileCommand("compile",
                   "Compile a model definition (JSON config) and emit its IR");

cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                cl::desc("<CONFIG.json>"),
                                cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<Emit> emit("emit", cl::desc("What to emit"), cl::init(Emit::Mlir),
                   cl::values(clEnumValN(Emit::Mlir, "mlir",
                                         "the imported mstream IR (default)")),
                   cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<int64_t> batch("batch", cl::desc("Batch size of one step (default 1)"),
                       cl::init(1), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<int64_t>
    seq("seq",
        cl::desc("Sequence length of one step (default: the config's "
                 "max_seq_len)"),
        cl::init(0), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("Print each op's location (config file:line:col and module "
             "path, e.g. layers.3.mlp)"),
    cl::init(false), cl::sub(compileCommand), cl::cat(mstreamCategory));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "mstream") << message << "\n";
  return 1;
}

int runCompile() {
  llvm::Expected<mstream::ParsedConfig> parsed =
      mstream::parseModelConfigFile(configPath);
  if (!parsed) {
    // The message is a rendered diagnostic with its own location prefix.
    llvm::errs() << llvm::toString(parsed.takeError());
    return 1;
  }
  mlir::MLIRContext context;
  auto module = mstream::importModel(context, *parsed, {batch, seq});
  if (!module)
    return fail(llvm::toString(module.takeError()));

  std::error_code error;
  llvm::ToolOutputFile output(outputPath, error, llvm::sys::fs::OF_Text);
  if (error)
    return fail("cannot open '" + outputPath + "': " + error.message());
  mlir::OpPrintingFlags flags;
  flags.enableDebugInfo(printLocations);
  (*module)->print(output.os(), flags);
  output.os() << "\n";
  output.keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(mstreamCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mstream: compiler for optimizer-inspired Transformers\n\n"
      "  mstream compile CONFIG.json --emit=mlir   print the imported IR\n\n"
      "Run 'mstream compile --help' for the options of a sub-command.\n");
  if (compileCommand)
    return runCompile();
  cl::PrintHelpMessage();
  return 1;
}
