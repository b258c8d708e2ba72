//===- Compiler.h - model definitions to artifacts --------------*- C++ -*-===//
//
// The compiler facade: import, lower through a named pipeline, generate and
// link host code, and package it with the model's manifest (runtime/
// Artifact.h). Every phase is reachable for inspection.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_FRONTEND_COMPILER_H
#define MSTREAM_FRONTEND_COMPILER_H

#include "mstream/Frontend/CompileRequest.h"
#include "mstream/Frontend/Importer.h"

#include "llvm/IR/Module.h"

namespace mstream {

/// Adds `loss_and_grads` (inline, then mstream-autodiff), in place.
llvm::Error addGradients(mlir::ModuleOp module);

/// Adds `loss_and_grads` and `train_step` (mstream-build-train-step with
/// `options`, then inlined), in place.
llvm::Error addTrainStep(mlir::ModuleOp module,
                         const OptimizerOptions &options);

/// Adds what `request` asks beyond forward and loss: train_step (with
/// loss_and_grads, as addTrainStep) or loss_and_grads alone.
llvm::Error addRequestedEntries(mlir::ModuleOp module,
                                const CompileRequest &request);

/// Runs the pipeline of `request`'s target (mstream-cpu-pipeline or
/// mstream-cuda-pipeline) on an imported module, in place.
llvm::Error lowerForTarget(mlir::ModuleOp module,
                           const CompileRequest &request);

/// The LLVM dialect module (host code, with any embedded cubin) as
/// optimised (O2) LLVM IR for the host.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateHostCode(mlir::ModuleOp module, llvm::LLVMContext &context);

/// The cubin a lowered cuda module embeds (mstream-merge-gpu-modules makes
/// it one).
llvm::Expected<std::string> extractCubin(mlir::ModuleOp module);

/// Host object code linked into a shared object (by the system's `cc`).
llvm::Expected<std::string> linkSharedObject(llvm::Module &module);

/// The whole compilation of `parsed` to artifact bytes: forward and loss,
/// plus loss_and_grads and train_step when `request` asks.
llvm::Expected<std::string> compileArtifact(mlir::MLIRContext &context,
                                            const ParsedConfig &parsed,
                                            const CompileRequest &request);

} // namespace mstream

#endif // MSTREAM_FRONTEND_COMPILER_H
