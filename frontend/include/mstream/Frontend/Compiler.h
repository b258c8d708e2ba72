//===- Compiler.h - model definitions to artifacts --------------*- C++ -*-===//
//
// The compiler driver: import, lower through a named pipeline, generate and
// link host code, and package it with the model's manifest (runtime/
// Artifact.h). Every phase is reachable for inspection.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_FRONTEND_COMPILER_H
#define MSTREAM_FRONTEND_COMPILER_H

#include "mstream/Frontend/Importer.h"
#include "mstream/Model/CompileRequest.h"

#include "llvm/IR/Module.h"

#include <optional>

namespace mstream {

/// The compiler's phases in pipeline order, as `--compile-to`, `ir()` and
/// `--dump-ir-dir` name them.
enum class Phase { Imported, Fused, Training, Lowered, Llvm };
llvm::ArrayRef<llvm::StringLiteral> phaseNames();
std::optional<Phase> parsePhase(llvm::StringRef name);

/// Runs mstream-fuse-preconditioners and mstream-fuse-streams, in place.
llvm::Error fuseRegions(mlir::ModuleOp module);

/// Takes an imported module through the phases after Imported up to `last`
/// (at most Lowered) as `request` asks, in place, calling `observe` after
/// each phase that ran (the imported module first).
llvm::Error
runPhases(mlir::ModuleOp module, const CompileRequest &request, Phase last,
          llvm::function_ref<void(Phase, mlir::ModuleOp)> observe = nullptr);

/// Adds `loss_and_grads` (inline, then mstream-autodiff), in place.
llvm::Error addGradients(mlir::ModuleOp module);

/// Adds `loss_and_grads` and `train_step` (mstream-build-train-step with
/// `options`, then inlined), in place. `groupUpdates`: one optimizer op
/// per parameter group, or (false) one per parameter.
llvm::Error addTrainStep(mlir::ModuleOp module, const OptimizerOptions &options,
                         bool groupUpdates = true);

/// Adds what `request` asks beyond forward and loss: train_step (with
/// loss_and_grads, as addTrainStep, its updates grouped when the request
/// fuses) or loss_and_grads alone.
llvm::Error addRequestedEntries(mlir::ModuleOp module,
                                const CompileRequest &request);

/// Runs the pipeline of `request`'s target (mstream-cpu-pipeline or
/// mstream-cuda-pipeline) on an imported module, in place.
llvm::Error lowerForTarget(mlir::ModuleOp module,
                           const CompileRequest &request);

/// The LLVM dialect module (host code, with any embedded cubin) as
/// optimised (O2) LLVM IR for the host's architecture, for the newest
/// instruction set `hostCpu` names (CompileRequest::hostCpu).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateHostCode(mlir::ModuleOp module, llvm::LLVMContext &context,
                  llvm::StringRef hostCpu = "portable");

/// The cubin a lowered cuda module embeds (mstream-merge-gpu-modules makes
/// it one).
llvm::Expected<std::string> extractCubin(mlir::ModuleOp module);

/// Host object code for the newest instruction set `hostCpu` names linked
/// into a shared object (by the system's `cc`).
llvm::Expected<std::string> linkSharedObject(llvm::Module &module,
                                             llvm::StringRef hostCpu);

/// The whole compilation of `parsed` to artifact bytes: forward and loss,
/// plus loss_and_grads and train_step when `request` asks, with host code
/// for each instruction set request.hostCpu names.
/// `observe` sees the module after each phase as runPhases calls it, and
/// `observeLlvm` the optimised host LLVM IR.
llvm::Expected<std::string> compileArtifact(
    mlir::MLIRContext &context, const ParsedConfig &parsed,
    const CompileRequest &request,
    llvm::function_ref<void(Phase, mlir::ModuleOp)> observe = nullptr,
    llvm::function_ref<void(llvm::Module &)> observeLlvm = nullptr);

} // namespace mstream

#endif // MSTREAM_FRONTEND_COMPILER_H
