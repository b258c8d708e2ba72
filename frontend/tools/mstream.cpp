//===- mstream.cpp - the mstream command-line driver ----------------------===//
//
//   mstream compile CONFIG.json [--target=cpu|cuda] [--emit=...] [-o FILE]
//                   [--compile-to=PHASE] [--dump-ir-dir=DIR]
//                   [--print-fusion-report] [--fuse=false]
//   mstream init | eval ...   (the runtime's commands, runtime/cli)
//
//===----------------------------------------------------------------------===//

#include "mstream/Frontend/Compiler.h"
#include "mstream/Frontend/Diagnostics.h"
#include "mstream/Frontend/ParamTable.h"
#include "mstream/Passes/Passes.h"
#include "mstream/Runtime/Cli.h"
#include "mstream/Runtime/HostIsa.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <cstring>

namespace cl = llvm::cl;

namespace {

enum class Target { None, Cpu, Cuda };
enum class Emit { Default, Mlir, Lowered, LlvmIr, Cubin, Artifact };

// libLLVM registers its backends' options globally; --help shows only ours.
cl::OptionCategory mstreamCategory("mstream options");

cl::SubCommand compileCommand(
    "compile", "Compile a model definition (JSON config) to IR or an artifact");

cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                cl::desc("<CONFIG.json>"),
                                cl::sub(compileCommand),
                                cl::cat(mstreamCategory));

cl::opt<Target>
    target("target",
           cl::desc("Backend to compile for (default: none, emit IR)"),
           cl::init(Target::None),
           cl::values(clEnumValN(Target::Cpu, "cpu",
                                 "host CPU: generated loops plus OpenBLAS"),
                      clEnumValN(Target::Cuda, "cuda",
                                 "NVIDIA GPU: generated kernels in a cubin "
                                 "(NVVM, ptxas) plus cuBLAS")),
           cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string> chip("chip",
                          cl::desc("With --target=cuda: the GPU architecture, "
                                   "sm_80 or sm_90 (default)"),
                          cl::init("sm_90"), cl::sub(compileCommand),
                          cl::cat(mstreamCategory));

cl::opt<Emit> emit(
    "emit", cl::desc("What to emit (default: mlir, or artifact with --target)"),
    cl::init(Emit::Default),
    cl::values(clEnumValN(Emit::Mlir, "mlir", "the imported mstream IR"),
               clEnumValN(Emit::Lowered, "lowered",
                          "the LLVM dialect after the target's pipeline"),
               clEnumValN(Emit::LlvmIr, "llvm-ir", "the optimised LLVM IR"),
               clEnumValN(Emit::Cubin, "cubin",
                          "with --target=cuda: the kernels' cubin"),
               clEnumValN(Emit::Artifact, "artifact",
                          "the self-contained artifact the runtime loads")),
    cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<int64_t> batch("batch", cl::desc("Batch size of one step (default 1)"),
                       cl::init(1), cl::sub(compileCommand),
                       cl::cat(mstreamCategory));

cl::opt<int64_t>
    seq("seq",
        cl::desc("Sequence length of one step (default: the config's "
                 "max_seq_len)"),
        cl::init(0), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCommand),
                                cl::cat(mstreamCategory));

cl::opt<bool> gradients(
    "grads",
    cl::desc("Also build loss_and_grads (reverse-mode autodiff of the loss)"),
    cl::init(false), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<bool>
    train("train",
          cl::desc("Also build train_step: gradients, clipping and the weight "
                   "optimizers (implies --grads)"),
          cl::init(false), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string>
    recipe("recipe",
           cl::desc("With --train: hybrid (Muon on block matrices, AdamW "
                    "elsewhere; SPEC.md 5.2) or adamw (5.6)"),
           cl::init("hybrid"), cl::sub(compileCommand),
           cl::cat(mstreamCategory));

cl::opt<double>
    maxNorm("max-norm",
            cl::desc("With --train: global gradient-norm clip (<= 0: off)"),
            cl::init(1.0), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("Print the IR at a phase: imported, fused, training, lowered "
             "(needs --target) or llvm (host LLVM IR, needs --target)"),
    cl::value_desc("phase"), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string>
    dumpIrDir("dump-ir-dir",
              cl::desc("Also write the IR after every phase that runs to "
                       "DIR/NN-phase.mlir (NN-llvm.ll for the host LLVM IR)"),
              cl::value_desc("dir"), cl::sub(compileCommand),
              cl::cat(mstreamCategory));

cl::opt<bool> printFusionReport(
    "print-fusion-report",
    cl::desc("Print every fused kernel with the bytes it reads and writes "
             "per token (to stderr)"),
    cl::init(false), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<bool>
    fuse("fuse",
         cl::desc("Fuse each substep and each per-token matrix iteration into "
                  "one per-token kernel, forward and backward (default on)"),
         cl::init(true), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<std::string> hostCpu(
    "host-cpu",
    cl::desc("The host code's instruction set: portable (default: any "
             "machine of this architecture), native (this CPU's newest), "
             "avx2 or avx512; a comma-separated list or 'all' for host "
             "code for each, of which the runtime loads the newest its CPU "
             "runs"),
    cl::init("portable"), cl::sub(compileCommand), cl::cat(mstreamCategory));

cl::opt<bool> emulateGpuKernels(
    "emulate-gpu-kernels",
    cl::desc("With --target=cpu: lower the fused regions as --target=cuda "
             "does, each kernel block's work in one thread, to test the GPU "
             "kernels' logic on the CPU"),
    cl::init(false), cl::Hidden, cl::sub(compileCommand),
    cl::cat(mstreamCategory));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("Print each op's location (config file:line:col and module "
             "path, e.g. layers.3.mlp)"),
    cl::init(false), cl::sub(compileCommand), cl::cat(mstreamCategory));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "mstream") << message << "\n";
  return 1;
}

int writeOutput(llvm::function_ref<void(llvm::raw_ostream &)> print,
                bool binary) {
  if (binary && outputPath == "-")
    return fail("an artifact is binary: name a file with -o");
  std::error_code error;
  llvm::ToolOutputFile output(outputPath, error,
                              binary ? llvm::sys::fs::OF_None
                                     : llvm::sys::fs::OF_Text);
  if (error)
    return fail("cannot open '" + outputPath + "': " + error.message());
  print(output.os());
  output.keep();
  return 0;
}

/// Writes `print`'s text to DIR/NN-name.ext for --dump-ir-dir; false (and
/// an error printed) if it cannot.
bool dumpPhase(mstream::Phase phase, llvm::StringRef extension,
               llvm::function_ref<void(llvm::raw_ostream &)> print) {
  unsigned index = static_cast<unsigned>(phase);
  llvm::SmallString<128> path(dumpIrDir);
  llvm::sys::path::append(
      path, llvm::formatv("{0}{1}-{2}.{3}", index + 1 < 10 ? "0" : "",
                          index + 1, mstream::phaseNames()[index], extension)
                .str());
  std::error_code error;
  llvm::raw_fd_ostream os(path, error, llvm::sys::fs::OF_Text);
  if (error) {
    fail("cannot write '" + path + "': " + error.message());
    return false;
  }
  print(os);
  return true;
}

/// The phase and output that --emit and --compile-to ask for.
struct Wanted {
  mstream::Phase phase;
  Emit emit;
};

llvm::Expected<Wanted> wanted(bool withEntries) {
  using mstream::Phase;
  if (!compileTo.empty()) {
    if (emit != Emit::Default)
      return llvm::createStringError("give --emit or --compile-to, not both");
    std::optional<Phase> phase = mstream::parsePhase(compileTo);
    if (!phase)
      return llvm::createStringError(
          "unknown phase '" + compileTo + "' for --compile-to (expected " +
          llvm::join(mstream::phaseNames(), ", ") + ")");
    if (*phase >= Phase::Lowered && target == Target::None)
      return llvm::createStringError("--compile-to=" + compileTo +
                                     " needs --target");
    return Wanted{*phase, *phase == Phase::Llvm ? Emit::LlvmIr : Emit::Mlir};
  }
  Emit what = emit;
  if (what == Emit::Default)
    what = target == Target::None ? Emit::Mlir : Emit::Artifact;
  if (what != Emit::Mlir && target == Target::None)
    return llvm::createStringError(
        "--emit=lowered, llvm-ir, cubin and artifact need --target");
  if (what == Emit::Cubin && target != Target::Cuda)
    return llvm::createStringError("--emit=cubin needs --target=cuda");
  if (what == Emit::Mlir)
    return Wanted{withEntries ? Phase::Training : Phase::Imported, what};
  return Wanted{what == Emit::LlvmIr ? Phase::Llvm : Phase::Lowered, what};
}

int runCompile() {
  using mstream::Phase;
  llvm::Expected<mstream::ParsedConfig> parsed =
      mstream::parseModelConfigFile(configPath);
  if (!parsed) {
    // The message is a rendered diagnostic with its own location prefix.
    llvm::errs() << llvm::toString(parsed.takeError());
    return 1;
  }
  llvm::Expected<Wanted> want = wanted(gradients || train);
  if (!want)
    return fail(llvm::toString(want.takeError()));
  if (recipe != "hybrid" && recipe != "adamw")
    return fail("--recipe must be hybrid or adamw, got '" + recipe + "'");
  if (auto isas = mstream::rt::resolveHostIsas(hostCpu); !isas.ok())
    return fail("--host-cpu: " + std::string(isas.status().message()));
  if (!dumpIrDir.empty()) {
    if (std::error_code error = llvm::sys::fs::create_directories(dumpIrDir))
      return fail("cannot create '" + dumpIrDir + "': " + error.message());
    if (!llvm::sys::fs::is_directory(dumpIrDir))
      return fail("--dump-ir-dir: '" + dumpIrDir + "' is not a directory");
  }
  // The report describes the fused regions, which a command that stops at
  // the imported IR never builds.
  if (printFusionReport && want->phase < Phase::Fused)
    return fail("--print-fusion-report needs the fused phase, and this "
                "command stops at the imported IR (add --compile-to=fused, "
                "--train or --target)");

  mlir::MLIRContext context;
  mstream::ModelDiagnostics diagnostics(&context);
  mstream::StepShape shape{batch, seq};
  mstream::CompileRequest request;
  request.target = target == Target::Cuda ? "cuda" : "cpu";
  request.chip = chip;
  request.batch = batch;
  request.seq = seq;
  request.gradients = gradients || train;
  request.train = train;
  request.optimizer = {recipe, maxNorm};
  request.fuse = fuse;
  request.emulateGpuKernels = emulateGpuKernels;
  request.hostCpu = hostCpu;

  mlir::OpPrintingFlags flags;
  flags.enableDebugInfo(printLocations);
  Phase reportAt = std::min(want->phase, Phase::Training);
  // A phase that could not be written fails the command once the
  // compilation returns; later phases are not tried.
  bool dumpFailed = false;
  auto dump = [&](Phase phase, llvm::StringRef extension,
                  llvm::function_ref<void(llvm::raw_ostream &)> print) {
    if (!dumpIrDir.empty() && !dumpFailed)
      dumpFailed = !dumpPhase(phase, extension, print);
  };
  auto observe = [&](Phase phase, mlir::ModuleOp module) {
    dump(phase, "mlir",
         [&](llvm::raw_ostream &os) { module->print(os, flags); });
    if (printFusionReport && phase == reportAt) {
      if (!request.fuse)
        llvm::errs() << "fusion report: no fused kernels (--fuse=false)\n";
      mstream::printFusionReport(module, llvm::errs());
    }
  };
  auto observeLlvm = [&](llvm::Module &module) {
    dump(Phase::Llvm, "ll", [&](llvm::raw_ostream &os) { os << module; });
  };

  if (want->emit == Emit::Artifact) {
    auto artifact = mstream::compileArtifact(context, *parsed, request, observe,
                                             observeLlvm);
    if (!artifact)
      return fail(llvm::toString(artifact.takeError()));
    if (dumpFailed)
      return 1;
    return writeOutput([&](llvm::raw_ostream &os) { os << *artifact; }, true);
  }
  auto module = mstream::importModel(context, *parsed, shape);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  if (llvm::Error error = mstream::runPhases(
          **module, request, std::min(want->phase, Phase::Lowered), observe))
    return fail(llvm::toString(std::move(error)));
  if (dumpFailed)
    return 1;
  if (want->emit == Emit::Cubin) {
    auto cubin = mstream::extractCubin(**module);
    if (!cubin)
      return fail(llvm::toString(cubin.takeError()));
    return writeOutput([&](llvm::raw_ostream &os) { os << *cubin; }, true);
  }
  if (want->phase == Phase::Llvm) {
    llvm::LLVMContext llvmContext;
    auto llvmModule =
        mstream::translateHostCode(**module, llvmContext, request.hostCpu);
    if (!llvmModule)
      return fail(llvm::toString(llvmModule.takeError()));
    observeLlvm(**llvmModule);
    if (dumpFailed)
      return 1;
    return writeOutput([&](llvm::raw_ostream &os) { os << **llvmModule; },
                       false);
  }
  return writeOutput(
      [&](llvm::raw_ostream &os) {
        (*module)->print(os, flags);
        os << "\n";
      },
      false);
}

absl::Status toStatus(llvm::Error error) {
  return absl::InvalidArgumentError(llvm::toString(std::move(error)));
}

/// The compiler, offered to the runtime's commands for model definitions.
mstream::rt::CompilerHooks compilerHooks() {
  mstream::rt::CompilerHooks hooks;
  hooks.paramTable = [](const std::string &path)
      -> absl::StatusOr<std::vector<mstream::ParamSpec>> {
    auto parsed = mstream::parseModelConfigFile(path);
    if (!parsed)
      return toStatus(parsed.takeError());
    return mstream::buildParamTable(parsed->config);
  };
  hooks.compile = [](const std::string &path,
                     const mstream::CompileRequest &request)
      -> absl::StatusOr<std::string> {
    auto parsed = mstream::parseModelConfigFile(path);
    if (!parsed)
      return toStatus(parsed.takeError());
    mlir::MLIRContext context;
    mstream::ModelDiagnostics diagnostics(&context);
    auto artifact = mstream::compileArtifact(context, *parsed, request);
    if (!artifact)
      return toStatus(artifact.takeError());
    return std::move(*artifact);
  };
  return hooks;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  for (const auto &[name, summary] : mstream::rt::runtimeCommands())
    if (argc > 1 && name == argv[1]) {
      mstream::rt::CompilerHooks hooks = compilerHooks();
      return mstream::rt::runRuntimeCommand(argc, argv, &hooks);
    }

  cl::HideUnrelatedOptions(mstreamCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mstream: compiler and runtime for optimizer-inspired Transformers\n\n"
      "  mstream compile CONFIG.json --emit=mlir   print the imported IR\n"
      "  mstream compile CONFIG.json --target=cpu -o MODEL.mstream\n"
      "  mstream init CONFIG.json|ARTIFACT --seed S -o W.safetensors\n"
      "  mstream eval CONFIG.json|ARTIFACT --weights W.safetensors "
      "--tokens X.npy --targets Y.npy [--logits L.npy] [--grads "
      "G.safetensors]\n\n"
      "Run 'mstream compile --help' or 'mstream init --helpshort' for a "
      "command's options.\n");
  if (compileCommand)
    return runCompile();
  cl::PrintHelpMessage();
  return 1;
}
