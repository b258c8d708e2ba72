//===- CompileCommand.cpp - mstream compile -------------------------------===//
//
//   mstream compile CONFIG.json [--target=cpu|cuda] [--emit=...] [-o FILE]
//                   [--compile-to=PHASE] [--dump-ir-dir=DIR]
//                   [--print-fusion-report] [--fuse=false]
//
// Its flags are LLVM command-line options (libLLVM's own are hidden); the
// runtime commands' hooks into the compiler are here too.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "mstream/Frontend/Compiler.h"
#include "mstream/Frontend/Diagnostics.h"
#include "mstream/Frontend/KernelReport.h"
#include "mstream/Model/ParamTable.h"
#include "mstream/Runtime/HostIsa.h"
#include "mstream/Transforms/Fusion/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <optional>

namespace cl = llvm::cl;

namespace {

enum class Target { None, Cpu, Cuda };
enum class Emit { Default, Mlir, Lowered, LlvmIr, Cubin, Artifact };

// libLLVM registers its backends' options globally; --help shows only ours.
cl::OptionCategory mstreamCategory("mstream options");

cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                cl::desc("<CONFIG.json>"),
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
           cl::cat(mstreamCategory));

cl::opt<std::string> chip("chip",
                          cl::desc("With --target=cuda: the GPU architecture, "
                                   "sm_80 or sm_90 (default)"),
                          cl::init("sm_90"), cl::cat(mstreamCategory));

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
    cl::cat(mstreamCategory));

cl::opt<int64_t> batch("batch", cl::desc("Batch size of one step (default 1)"),
                       cl::init(1), cl::cat(mstreamCategory));

cl::opt<int64_t>
    seq("seq",
        cl::desc("Sequence length of one step (default: the config's "
                 "max_seq_len)"),
        cl::init(0), cl::cat(mstreamCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(mstreamCategory));

cl::opt<bool> gradients(
    "grads",
    cl::desc("Also build loss_and_grads (reverse-mode autodiff of the loss)"),
    cl::init(false), cl::cat(mstreamCategory));

cl::opt<bool>
    train("train",
          cl::desc("Also build train_step: gradients, clipping and the weight "
                   "optimizers (implies --grads)"),
          cl::init(false), cl::cat(mstreamCategory));

cl::opt<std::string>
    recipe("recipe",
           cl::desc("With --train: hybrid (Muon on block matrices, AdamW "
                    "elsewhere) or adamw (AdamW everywhere)"),
           cl::init("hybrid"), cl::cat(mstreamCategory));

cl::opt<double>
    maxNorm("max-norm",
            cl::desc("With --train: global gradient-norm clip (<= 0: off)"),
            cl::init(1.0), cl::cat(mstreamCategory));

cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("Print the IR at a phase: imported, fused, training, lowered "
             "(needs --target) or llvm (host LLVM IR, needs --target)"),
    cl::value_desc("phase"), cl::cat(mstreamCategory));

cl::opt<std::string>
    dumpIrDir("dump-ir-dir",
              cl::desc("Also write the IR after every phase that runs to "
                       "DIR/NN-phase.mlir (NN-llvm.ll for the host LLVM IR)"),
              cl::value_desc("dir"), cl::cat(mstreamCategory));

cl::opt<bool> printFusionReport(
    "print-fusion-report",
    cl::desc("Print every fused kernel with the bytes it reads and writes "
             "per token (to stderr)"),
    cl::init(false), cl::cat(mstreamCategory));

cl::opt<bool>
    fuse("fuse",
         cl::desc("Fuse each substep and each per-token matrix iteration into "
                  "one per-token kernel, forward and backward (default on)"),
         cl::init(true), cl::cat(mstreamCategory));

cl::opt<std::string> hostCpu(
    "host-cpu",
    cl::desc("The host code's instruction set: portable (default: any "
             "machine of this architecture), native (this CPU's newest), "
             "avx2 or avx512; a comma-separated list or 'all' for host "
             "code for each, of which the runtime loads the newest its CPU "
             "runs"),
    cl::init("portable"), cl::cat(mstreamCategory));

cl::opt<std::string> precision(
    "precision",
    cl::desc("fp32 (default), or bf16: the oracles' products (projections, "
             "attention's products, the tied head and their gradients) "
             "multiply bf16 operands and accumulate in f32; weights, "
             "optimizer state, streams, norms, softmax and the loss stay f32 "
             "(docs/precision.md)"),
    cl::init("fp32"), cl::cat(mstreamCategory));

cl::opt<bool> emulateGpuKernels(
    "emulate-gpu-kernels",
    cl::desc("With --target=cpu: lower the fused regions as --target=cuda "
             "does, each kernel block's work in one thread, to test the GPU "
             "kernels' logic on the CPU"),
    cl::init(false), cl::Hidden, cl::cat(mstreamCategory));

cl::opt<std::string> printKernelReport(
    "print-kernel-report", cl::ValueOptional,
    cl::desc("With --target=cuda: print each entry's kernels and cuBLAS "
             "calls (launches, grid, block, registers, shared memory, bytes, "
             "FLOPs), its host<->device bytes, peak device memory and a "
             "roofline estimate on an H100 SXM to standard output; "
             "=json for JSON (docs/cuda-backend.md)"),
    cl::value_desc("text|json"), cl::cat(mstreamCategory));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("Print each op's location (config file:line:col and module "
             "path, e.g. layers.3.mlp)"),
    cl::init(false), cl::cat(mstreamCategory));

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

/// The flags' checks that need no compilation; an error message or none.
std::optional<std::string> checkFlags(const Wanted &want) {
  if (recipe != "hybrid" && recipe != "adamw")
    return "--recipe must be hybrid or adamw, got '" + recipe + "'";
  if (precision != "fp32" && precision != "bf16")
    return "--precision must be fp32 or bf16, got '" + precision + "'";
  if (auto isas = mstream::rt::resolveHostIsas(hostCpu); !isas.ok())
    return "--host-cpu: " + std::string(isas.status().message());
  if (!dumpIrDir.empty()) {
    if (std::error_code error = llvm::sys::fs::create_directories(dumpIrDir))
      return "cannot create '" + dumpIrDir + "': " + error.message();
    if (!llvm::sys::fs::is_directory(dumpIrDir))
      return "--dump-ir-dir: '" + dumpIrDir + "' is not a directory";
  }
  if (printKernelReport.getNumOccurrences()) {
    if (!printKernelReport.empty() && printKernelReport != "text" &&
        printKernelReport != "json")
      return "--print-kernel-report must be text or json, got '" +
             printKernelReport + "'";
    if (target != Target::Cuda)
      return std::string("--print-kernel-report needs --target=cuda");
    if (want.phase < mstream::Phase::Lowered)
      return std::string("--print-kernel-report needs the lowered phase, "
                         "and this command stops before it");
    if (outputPath == "-")
      return std::string("--print-kernel-report writes to standard output: "
                         "name the output with -o");
  }
  // The report describes the fused regions, which a command that stops at
  // the imported IR never builds.
  if (printFusionReport && want.phase < mstream::Phase::Fused)
    return std::string(
        "--print-fusion-report needs the fused phase, and this command stops "
        "at the imported IR (add --compile-to=fused, --train or --target)");
  return std::nullopt;
}

/// The compilation the flags ask for.
mstream::CompileRequest compileRequest() {
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
  request.precision = precision;
  request.kernelReport = printKernelReport.getNumOccurrences() > 0;
  return request;
}

/// What the compilation reports along the way: every phase's IR for
/// --dump-ir-dir, the fusion report. A phase that could not be written
/// fails the command once the compilation returns; later phases are not
/// tried.
class PhaseObserver {
public:
  PhaseObserver(const Wanted &want, bool fused)
      : reportAt(std::min(want.phase, mstream::Phase::Training)), fused(fused) {
    flags.enableDebugInfo(printLocations);
  }

  void operator()(mstream::Phase phase, mlir::ModuleOp module) {
    dump(phase, "mlir",
         [&](llvm::raw_ostream &os) { module->print(os, flags); });
    if (printFusionReport && phase == reportAt) {
      if (!fused)
        llvm::errs() << "fusion report: no fused kernels (--fuse=false)\n";
      mstream::printFusionReport(module, llvm::errs());
    }
    if (phase == mstream::Phase::Lowered &&
        printKernelReport.getNumOccurrences())
      if (llvm::Error error = mstream::printKernelReport(
              module, printKernelReport == "json", llvm::outs())) {
        fail("kernel report: " + llvm::toString(std::move(error)));
        reportFailed = true;
      }
  }

  void llvmIr(llvm::Module &module) {
    dump(mstream::Phase::Llvm, "ll",
         [&](llvm::raw_ostream &os) { os << module; });
  }

  bool failed() const { return dumpFailed || reportFailed; }
  const mlir::OpPrintingFlags &printingFlags() const { return flags; }

private:
  void dump(mstream::Phase phase, llvm::StringRef extension,
            llvm::function_ref<void(llvm::raw_ostream &)> print) {
    if (!dumpIrDir.empty() && !dumpFailed)
      dumpFailed = !dumpPhase(phase, extension, print);
  }

  mlir::OpPrintingFlags flags;
  mstream::Phase reportAt;
  bool fused;
  bool dumpFailed = false;
  bool reportFailed = false;
};

/// --emit=artifact: the whole compilation, one binary file.
int emitArtifact(mlir::MLIRContext &context,
                 const mstream::ParsedConfig &parsed,
                 const mstream::CompileRequest &request,
                 PhaseObserver &observer) {
  auto artifact = mstream::compileArtifact(
      context, parsed, request,
      [&](mstream::Phase phase, mlir::ModuleOp module) {
        observer(phase, module);
      },
      [&](llvm::Module &module) { observer.llvmIr(module); });
  if (!artifact)
    return fail(llvm::toString(artifact.takeError()));
  if (observer.failed())
    return 1;
  return writeOutput([&](llvm::raw_ostream &os) { os << *artifact; }, true);
}

/// Everything else: the IR at a phase, the host LLVM IR or the cubin.
int emitPhase(mlir::MLIRContext &context, const mstream::ParsedConfig &parsed,
              const mstream::CompileRequest &request, const Wanted &want,
              PhaseObserver &observer) {
  using mstream::Phase;
  auto module =
      mstream::importModel(context, parsed, mstream::StepShape{batch, seq});
  if (!module)
    return fail(llvm::toString(module.takeError()));
  if (llvm::Error error = mstream::runPhases(
          **module, request, std::min(want.phase, Phase::Lowered),
          [&](Phase phase, mlir::ModuleOp module) { observer(phase, module); }))
    return fail(llvm::toString(std::move(error)));
  if (observer.failed())
    return 1;
  if (want.emit == Emit::Cubin) {
    auto cubin = mstream::extractCubin(**module);
    if (!cubin)
      return fail(llvm::toString(cubin.takeError()));
    return writeOutput([&](llvm::raw_ostream &os) { os << *cubin; }, true);
  }
  if (want.phase == Phase::Llvm) {
    llvm::LLVMContext llvmContext;
    auto llvmModule =
        mstream::translateHostCode(**module, llvmContext, request.hostCpu);
    if (!llvmModule)
      return fail(llvm::toString(llvmModule.takeError()));
    observer.llvmIr(**llvmModule);
    if (observer.failed())
      return 1;
    return writeOutput([&](llvm::raw_ostream &os) { os << **llvmModule; },
                       false);
  }
  return writeOutput(
      [&](llvm::raw_ostream &os) {
        (*module)->print(os, observer.printingFlags());
        os << "\n";
      },
      false);
}

int runCompile() {
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
  if (std::optional<std::string> error = checkFlags(*want))
    return fail(*error);

  mlir::MLIRContext context;
  mstream::ModelDiagnostics diagnostics(&context);
  mstream::CompileRequest request = compileRequest();
  PhaseObserver observer(*want, request.fuse);
  if (want->emit == Emit::Artifact)
    return emitArtifact(context, *parsed, request, observer);
  return emitPhase(context, *parsed, request, *want, observer);
}

absl::Status toStatus(llvm::Error error) {
  return absl::InvalidArgumentError(llvm::toString(std::move(error)));
}

} // namespace

namespace mstream::cli {

CompilerHooks compilerHooks() {
  CompilerHooks hooks;
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

int runCompileCommand(int argc, char **argv) {
  // "mstream compile" is the program name in LLVM's messages ("Unknown
  // command line argument") and help.
  std::string program = "mstream compile";
  std::vector<char *> args = {program.data()};
  args.insert(args.end(), argv + 2, argv + argc);
  cl::HideUnrelatedOptions(mstreamCategory);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "mstream " << MSTREAM_VERSION << "\n";
  });
  cl::ParseCommandLineOptions(
      static_cast<int>(args.size()), args.data(),
      "compile a model definition (JSON) to IR, LLVM IR, a cubin or an "
      "artifact\n\n"
      "  mstream compile CONFIG.json --emit=mlir   print the imported IR\n"
      "  mstream compile CONFIG.json --target=cpu --train -o MODEL.mstream\n");
  return runCompile();
}

} // namespace mstream::cli
