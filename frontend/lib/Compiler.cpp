//===- Compiler.cpp - model definitions to artifacts ----------------------===//

#include "mstream/Frontend/Compiler.h"
#include "mstream/Dialect/AttrNames.h"

#include "mstream/InitAllPasses.h"
#include "mstream/Model/ParamTable.h"
#include "mstream/Runtime/Artifact.h"
#include "mstream/Runtime/HostIsa.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <cmath>
#include <thread>

using namespace mlir;

/// Runs `build`'s passes on `module` with every pipeline dependency loaded.
static llvm::Error runPasses(ModuleOp module,
                             llvm::function_ref<void(OpPassManager &)> build,
                             llvm::StringRef what) {
  DialectRegistry registry;
  mstream::registerPipelineDependencies(registry);
  module.getContext()->appendDialectRegistry(registry);
  PassManager pm(module.getContext());
  build(pm);
  if (failed(pm.run(module)))
    return llvm::createStringError(what +
                                   " failed (see the diagnostics above)");
  return llvm::Error::success();
}

llvm::ArrayRef<llvm::StringLiteral> mstream::phaseNames() {
  static constexpr llvm::StringLiteral names[] = {
      "imported", "fused", "training", "lowered", "llvm"};
  return names;
}

std::optional<mstream::Phase> mstream::parsePhase(llvm::StringRef name) {
  auto names = phaseNames();
  auto found = llvm::find(names, name);
  if (found == names.end())
    return std::nullopt;
  return static_cast<Phase>(found - names.begin());
}

llvm::Error mstream::fuseRegions(ModuleOp module) {
  return runPasses(module, mstream::buildFusionPipeline,
                   "fusing per-token regions");
}

llvm::Error
mstream::runPhases(ModuleOp module, const CompileRequest &request, Phase last,
                   llvm::function_ref<void(Phase, ModuleOp)> observe) {
  auto ran = [&](Phase phase) {
    if (observe)
      observe(phase, module);
  };
  ran(Phase::Imported);
  if (last >= Phase::Fused) {
    if (request.fuse)
      if (llvm::Error error = fuseRegions(module))
        return error;
    ran(Phase::Fused);
  }
  if (last >= Phase::Training) {
    if (llvm::Error error = addRequestedEntries(module, request))
      return error;
    ran(Phase::Training);
  }
  if (last >= Phase::Lowered) {
    if (llvm::Error error = lowerForTarget(module, request))
      return error;
    ran(Phase::Lowered);
  }
  return llvm::Error::success();
}

llvm::Error mstream::addGradients(ModuleOp module) {
  return runPasses(
      module,
      [](OpPassManager &pm) {
        pm.addPass(createInlinerPass());
        pm.addPass(mstream::createAutodiff());
      },
      "differentiating the loss");
}

llvm::Error mstream::addTrainStep(ModuleOp module,
                                  const OptimizerOptions &options,
                                  bool groupUpdates) {
  if (std::isnan(options.maxNorm))
    return llvm::createStringError(
        "the gradient clip max_norm (--max-norm) must be a number (<= 0: no "
        "clipping), got nan");
  if (llvm::Error error = addGradients(module))
    return error;
  return runPasses(
      module,
      [&](OpPassManager &pm) {
        BuildTrainStepOptions passOptions;
        passOptions.recipe = options.recipe;
        passOptions.maxNorm = options.maxNorm;
        passOptions.groupUpdates = groupUpdates;
        pm.addPass(mstream::createBuildTrainStep(passOptions));
        pm.addPass(createInlinerPass());
        // train_step has its own copy now; the training artifact needs no
        // separate loss_and_grads entry.
        pm.addPass(createSymbolPrivatizePass(
            {"forward", "loss", mstream::kTrainStepName.str()}));
        pm.addPass(createSymbolDCEPass());
      },
      "building the train step");
}

llvm::Error mstream::addRequestedEntries(ModuleOp module,
                                         const CompileRequest &request) {
  if (request.train)
    return addTrainStep(module, request.optimizer, request.fuse);
  if (request.gradients)
    return addGradients(module);
  return llvm::Error::success();
}

llvm::Error mstream::lowerForTarget(ModuleOp module,
                                    const CompileRequest &request) {
  if (request.precision != "fp32" && request.precision != "bf16")
    return llvm::createStringError("unknown precision '" + request.precision +
                                   "' (expected fp32 or bf16)");
  if (request.target == "cpu") {
    CpuPipelineOptions options;
    options.gpuTokenKernels = request.emulateGpuKernels;
    options.precision = request.precision;
    return runPasses(
        module,
        [&](OpPassManager &pm) { mstream::buildCpuPipeline(pm, options); },
        "lowering to the CPU backend");
  }
  if (request.emulateGpuKernels)
    return llvm::createStringError(
        "emulating the GPU kernels needs the cpu target");
  if (request.target != "cuda")
    return llvm::createStringError("unknown target '" + request.target +
                                   "' (expected cpu or cuda)");
  if (request.chip != "sm_80" && request.chip != "sm_90")
    return llvm::createStringError("unsupported GPU architecture '" +
                                   request.chip +
                                   "' (expected sm_80 or sm_90)");
  CudaPipelineOptions options;
  options.chip = request.chip;
  options.precision = request.precision;
  options.kernelReport = request.kernelReport;
  return runPasses(
      module,
      [&](OpPassManager &pm) { mstream::buildCudaPipeline(pm, options); },
      "lowering to the CUDA backend");
}

llvm::Expected<std::string> mstream::extractCubin(ModuleOp module) {
  auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1)
    return llvm::createStringError("expected one embedded GPU binary, found " +
                                   std::to_string(binaries.size()) +
                                   " (is this a lowered cuda module?)");
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  return object.getObject().str();
}

/// The LLVM target features of the newest host instruction set `hostCpu`
/// names (HostIsa.h), no more than the runtime checks for before it loads
/// the code (hostIsaProblem).
static llvm::Expected<std::string> targetFeatures(llvm::StringRef hostCpu) {
  absl::StatusOr<std::vector<std::string>> isas =
      mstream::rt::resolveHostIsas(hostCpu.str());
  if (!isas.ok())
    return llvm::createStringError(std::string(isas.status().message()));
  if (isas->back() == "avx2")
    return std::string("+avx2,+fma");
  if (isas->back() == "avx512")
    return std::string("+avx2,+fma,+avx512f,+avx512bw,+avx512dq,+avx512vl");
  return std::string();
}

/// The host target machine for a generic CPU of the host's architecture
/// with `hostCpu`'s instruction set.
static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
hostMachine(llvm::StringRef hostCpu) {
  llvm::Expected<std::string> features = targetFeatures(hostCpu);
  if (!features)
    return features.takeError();
  // Once, also when several threads build host code (compileArtifact).
  static const bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no host target: " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, "generic", *features, options, llvm::Reloc::PIC_));
  if (!machine)
    return llvm::createStringError("cannot create the host target machine");
  return machine;
}

/// The GPU dialect's translation builds each launch's argument array with
/// an alloca at the launch, so a launch inside a host loop (Newton-Schulz
/// iterations) grows the stack on every iteration. Moves such fixed-size
/// allocas to the entry block and brackets their uses with lifetime
/// markers, so that the code generator can also share their slots.
static void makeAllocasStatic(llvm::Function &function) {
  if (function.isDeclaration())
    return;
  llvm::BasicBlock &entry = function.getEntryBlock();
  llvm::SmallVector<llvm::AllocaInst *> moved;
  for (llvm::BasicBlock &block : function)
    if (&block != &entry)
      for (llvm::Instruction &inst : block)
        if (auto *alloca = llvm::dyn_cast<llvm::AllocaInst>(&inst))
          if (llvm::isa<llvm::ConstantInt>(alloca->getArraySize()))
            moved.push_back(alloca);
  for (llvm::AllocaInst *alloca : moved) {
    llvm::BasicBlock *block = alloca->getParent();
    bool local = llvm::all_of(alloca->users(), [&](llvm::User *user) {
      return llvm::cast<llvm::Instruction>(user)->getParent() == block;
    });
    llvm::IRBuilder<> builder(alloca);
    if (local) {
      builder.CreateLifetimeStart(alloca);
      builder.SetInsertPoint(block->getTerminator());
      builder.CreateLifetimeEnd(alloca);
    }
    alloca->moveBefore(entry.getFirstInsertionPt());
  }
}

/// The LLVM dialect module as LLVM IR, not yet optimised.
static llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLlvmIr(ModuleOp module, llvm::LLVMContext &context) {
  // All translations: a cuda module embeds its cubin through the GPU
  // dialect's (gpu.binary, gpu.launch_func).
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module.getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "mstream");
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  for (llvm::Function &function : *llvmModule)
    makeAllocasStatic(function);
  return llvmModule;
}

/// Targets `module` at the newest instruction set `hostCpu` names and
/// optimises it (O2).
static llvm::Error optimizeHostCode(llvm::Module &module,
                                    llvm::StringRef hostCpu) {
  auto machine = hostMachine(hostCpu);
  if (!machine)
    return machine.takeError();
  module.setTargetTriple((*machine)->getTargetTriple());
  module.setDataLayout((*machine)->createDataLayout());
  return makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0,
                                   machine->get())(&module);
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mstream::translateHostCode(ModuleOp module, llvm::LLVMContext &context,
                           llvm::StringRef hostCpu) {
  auto llvmModule = translateToLlvmIr(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  if (llvm::Error error = optimizeHostCode(**llvmModule, hostCpu))
    return std::move(error);
  return llvmModule;
}

/// Removes a temporary file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

llvm::Expected<std::string> mstream::linkSharedObject(llvm::Module &module,
                                                      llvm::StringRef hostCpu) {
  auto machine = hostMachine(hostCpu);
  if (!machine)
    return machine.takeError();
  TempFile object, library;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("mstream", "o", object.path))
    return llvm::createStringError(ec, "cannot create a temporary file");
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("mstream", "so", library.path))
    return llvm::createStringError(ec, "cannot create a temporary file");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object.path, ec);
    if (ec)
      return llvm::createStringError(ec, "cannot write the object file");
    llvm::legacy::PassManager codegen;
    if ((*machine)->addPassesToEmitFile(codegen, os, nullptr,
                                        llvm::CodeGenFileType::ObjectFile))
      return llvm::createStringError("the host target cannot emit objects");
    codegen.run(module);
  }
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return llvm::createStringError(
        "cannot link the host code: no 'cc' on PATH (install build-essential)");
  llvm::StringRef args[] = {*cc,          "-shared",   "-o",
                            library.path, object.path, "-lm"};
  std::string message;
  if (llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message) !=
      0)
    return llvm::createStringError("linking the host code failed: " + message);
  auto bytes = llvm::MemoryBuffer::getFile(library.path, false, false);
  if (!bytes)
    return llvm::createStringError(bytes.getError(),
                                   "cannot read the linked host code");
  return (*bytes)->getBuffer().str();
}

/// The element type of an entry argument as the runtime's dtype.
static mstream::rt::DType dtypeOf(Type type) {
  return cast<RankedTensorType>(type).getElementType().isInteger()
             ? mstream::rt::DType::I32
             : mstream::rt::DType::F32;
}

/// The name an entry argument or result is known by in the manifest:
/// its mark (AttrNames.h), "grad:" or "new:" before parameter names.
static std::string markOf(DictionaryAttr attrs, bool isResult) {
  if (!attrs)
    return "";
  for (llvm::StringRef mark : {mstream::kInputAttrName, mstream::kStateAttrName,
                               mstream::kOutputAttrName})
    if (auto name = attrs.getAs<StringAttr>(mark))
      return name.str();
  if (auto name = attrs.getAs<StringAttr>(mstream::kGradAttrName))
    return "grad:" + name.str();
  if (auto name = attrs.getAs<StringAttr>(mstream::kParamAttrName))
    return isResult ? "new:" + name.str() : "";
  return "";
}

/// The signature of every entry point, read from the functions' marks
/// before lowering; parameter arguments are the table's and not listed.
static std::vector<mstream::rt::EntrySpec> describeEntries(ModuleOp module) {
  std::vector<mstream::rt::EntrySpec> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    mstream::rt::EntrySpec entry{func.getName().str(), {}, {}};
    auto describe = [](Type type, std::string name) {
      auto tensor = cast<RankedTensorType>(type);
      return mstream::rt::ArgSpec{std::move(name), dtypeOf(type),
                                  std::vector<int64_t>(tensor.getShape())};
    };
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (std::string name = markOf(func.getArgAttrDict(i), false);
          !name.empty())
        entry.inputs.push_back(describe(func.getArgumentTypes()[i], name));
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      entry.outputs.push_back(describe(
          func.getResultTypes()[i], markOf(func.getResultAttrDict(i), true)));
    entries.push_back(std::move(entry));
  }
  return entries;
}

namespace mstream {
/// The manifest of `parsed` with `module`'s entry points.
static rt::Manifest describe(const ParsedConfig &parsed, StepShape shape,
                             const CompileRequest &request, ModuleOp module) {
  const ModelConfig &config = parsed.config;
  rt::Manifest manifest;
  manifest.compilerVersion = rt::runtimeVersion();
  manifest.target = request.target == "cuda" ? rt::cudaTarget(request.chip)
                                             : rt::hostTarget();
  manifest.precision = request.precision;
  manifest.model = {
      {"variant", std::string(getVariantInfo(config.variant).name)},
      {"vocab_size", std::to_string(config.vocabSize)},
      {"max_seq_len", std::to_string(config.maxSeqLen)},
      {"d_model", std::to_string(config.dModel)},
      {"n_layers", std::to_string(config.nLayers)},
      {"n_heads", std::to_string(config.nHeads)}};
  // Only the keys the variant takes, so that the section is a definition
  // (mstream.load rebuilds the model from it).
  if (config.variant == Variant::Tmm)
    manifest.model.emplace_back(
        "vel_init", config.velInit == VelInit::Zero ? "zero" : "embed");
  if (config.variant == Variant::Muon || config.variant == Variant::Ortho)
    manifest.model.emplace_back("ns_iters", std::to_string(config.nsIters));
  if (request.train)
    manifest.optimizer = {
        {"recipe", request.optimizer.recipe},
        {"max_norm", llvm::formatv("{0}", request.optimizer.maxNorm).str()}};
  manifest.batch = shape.batch;
  manifest.seq = shape.seq;
  manifest.params = buildParamTable(config);
  manifest.entries = describeEntries(module);
  return manifest;
}
} // namespace mstream

llvm::Expected<std::string>
mstream::compileArtifact(MLIRContext &context, const ParsedConfig &parsed,
                         const CompileRequest &request,
                         llvm::function_ref<void(Phase, ModuleOp)> observe,
                         llvm::function_ref<void(llvm::Module &)> observeLlvm) {
  // Resolved before the phases, so that a bad name costs no compile time.
  absl::StatusOr<std::vector<std::string>> isas =
      rt::resolveHostIsas(request.hostCpu);
  if (!isas.ok())
    return llvm::createStringError(std::string(isas.status().message()));
  StepShape shape{request.batch, request.seq};
  auto module = importModel(context, parsed, shape);
  if (!module)
    return module.takeError();
  if (shape.seq == 0)
    shape.seq = parsed.config.maxSeqLen;
  std::optional<rt::Manifest> manifest;
  if (llvm::Error error = runPhases(
          **module, request, Phase::Lowered, [&](Phase phase, ModuleOp m) {
            if (phase == Phase::Training)
              manifest = describe(parsed, shape, request, m);
            if (observe)
              observe(phase, m);
          }))
    return std::move(error);
  // One host build per instruction set, each in its own LLVMContext.
  // Translation reads the MLIR module, so the builds translate one after
  // the other; optimisation and code generation, most of a build's time,
  // run on a thread per extra set (the tiny TMMFormer's train step for all
  // three x86-64 sets: 31 s instead of 52 s on 2 cores, the same bytes).
  struct HostBuild {
    std::string isa;
    llvm::LLVMContext context;
    std::unique_ptr<llvm::Module> module;
    std::string object, error;
  };
  std::vector<std::unique_ptr<HostBuild>> builds;
  for (const std::string &isa : *isas) {
    builds.push_back(std::make_unique<HostBuild>());
    builds.back()->isa = isa;
    auto llvmModule = translateToLlvmIr(**module, builds.back()->context);
    if (!llvmModule)
      return llvmModule.takeError();
    builds.back()->module = std::move(*llvmModule);
  }
  auto build = [&](HostBuild &b) {
    llvm::Expected<std::string> object = [&]() -> llvm::Expected<std::string> {
      if (llvm::Error error = optimizeHostCode(*b.module, b.isa))
        return std::move(error);
      // The newest set's code is the one --compile-to=llvm shows.
      if (observeLlvm && &b == builds.back().get())
        observeLlvm(*b.module);
      return linkSharedObject(*b.module, b.isa);
    }();
    if (object)
      b.object = std::move(*object);
    else
      b.error = llvm::toString(object.takeError());
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < builds.size(); ++i)
    threads.emplace_back(build, std::ref(*builds[i]));
  build(*builds.front());
  for (std::thread &thread : threads)
    thread.join();
  std::vector<std::string> objects;
  for (const std::unique_ptr<HostBuild> &b : builds) {
    if (!b->error.empty())
      return llvm::createStringError(b->error);
    objects.push_back(std::move(b->object));
  }
  manifest->hostIsas = *isas;
  return rt::serializeArtifact(*manifest, objects);
}
