//===- Passes.h - mstream passes and pipelines ------------------*- C++ -*-===//

#ifndef MSTREAM_PASSES_PASSES_H
#define MSTREAM_PASSES_PASSES_H

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Passes/AttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mstream {

#define GEN_PASS_DECL
#include "mstream/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mstream/Passes/Passes.h.inc"

/// The pipelines' common start: mstream IR to bufferized linalg, entry
/// points filling caller-owned buffers. `onTensors` adds a target's passes
/// on linalg before bufferization.
void buildBufferizedLinalg(
    mlir::OpPassManager &pm,
    llvm::function_ref<void(mlir::OpPassManager &)> onTensors = nullptr);

/// Strided views, affine and scf to plain control flow (host and kernels).
void buildLoopsToControlFlow(mlir::OpPassManager &pm);

/// Host functions to the LLVM dialect, before reconcile-unrealized-casts.
/// With `deviceAllocations`, allocations call the runtime's
/// _mlir_memref_to_llvm_alloc/free (device memory) instead of malloc/free.
void buildHostToLlvm(mlir::OpPassManager &pm, bool deviceAllocations);

struct CpuPipelineOptions
    : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> gpuTokenKernels{
      *this, "gpu-token-kernels",
      llvm::cl::desc("Lower the token loops as the CUDA pipeline does, each "
                     "block's work in one thread: runs the GPU kernels' "
                     "logic on the CPU, to test it without a GPU"),
      llvm::cl::init(false)};
};

/// The named pipeline `mstream-cpu-pipeline`: mstream IR (forward, loss)
/// to the LLVM dialect with packed entry points and BLAS calls.
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options = {});

/// The GPU pipelines' split of large reductions, on tensors.
void buildGpuReductions(mlir::OpPassManager &pm);

/// The CUDA pipeline from bufferized linalg to parallel loops and token
/// loops distributed over a block (`oneThread`: a block of one thread, no
/// barriers), GEMMs outside token loops calling `gemmSymbol`, neighbouring
/// independent loops merged.
void buildGpuLoops(mlir::OpPassManager &pm, llvm::StringRef gemmSymbol,
                   bool oneThread);

struct CudaPipelineOptions
    : public mlir::PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{
      *this, "chip", llvm::cl::desc("The GPU architecture (sm_80, sm_90)"),
      llvm::cl::init("sm_90")};
};

/// The named pipeline `mstream-cuda-pipeline`: mstream IR to host LLVM
/// code that launches kernels from embedded cubins (NVVM, ptxas) and calls
/// cuBLAS through the runtime's mstream_cuda_sgemm.
void buildCudaPipeline(mlir::OpPassManager &pm,
                       const CudaPipelineOptions &options);

/// Every dialect and interface implementation (bufferization models,
/// conversions, translations) the pipelines need, for any driver's context.
void registerPipelineDependencies(mlir::DialectRegistry &registry);

/// For every function with mstream.fused regions, one line per region: its
/// token grid, how many ops it fused, the bytes it reads and writes per
/// token, and what those ops would move per token as separate kernels.
void printFusionReport(mlir::ModuleOp module, llvm::raw_ostream &os);

/// The fusion passes, in order: mstream-fuse-preconditioners, then
/// mstream-fuse-streams.
void buildFusionPipeline(mlir::OpPassManager &pm);

/// Registers the named pipelines with mlir-opt style drivers.
void registerMStreamPipelines();

/// The functions mstream-autodiff and mstream-build-train-step build.
inline constexpr llvm::StringLiteral kLossAndGradsName = "loss_and_grads";
inline constexpr llvm::StringLiteral kTrainStepName = "train_step";

/// Attaches the vector-Jacobian products of the mstream ops
/// (VjpOpInterface external models).
void registerVjpInterfaces(mlir::DialectRegistry &registry);
/// The step ops', the matrix ops' and the fused regions' shares of
/// registerVjpInterfaces.
void registerStepVjpInterfaces(mlir::DialectRegistry &registry);
void registerMatrixVjpInterfaces(mlir::DialectRegistry &registry);
/// The fused regions' VJP: a backward fused region.
void registerFusedVjpInterface(mlir::DialectRegistry &registry);

/// The attribute of RecordEntryShapes, read by EmitEntryPoints.
inline constexpr llvm::StringLiteral kEntryShapesAttr = "mstream.entry_shapes";

/// The prefix of the packed wrapper of entry point `name`.
inline constexpr llvm::StringLiteral kEntryPrefix = "mstream_entry_";

} // namespace mstream

#endif // MSTREAM_PASSES_PASSES_H
