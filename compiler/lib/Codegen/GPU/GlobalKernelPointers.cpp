//===- GlobalKernelPointers.cpp - the mstream-global-kernel-pointers pass -===//
//
// NVPTX marks each generic pointer parameter of a kernel as global memory
// where the kernel starts (a `cvta.to.global` per pointer), and ptxas keeps
// every result live to the end. A merged weight-optimizer kernel takes
// about 180 pointers, of which each thread uses a few in one branch: the
// paper's tmm step's went from 191 registers to 164 and from 148 to 108
// (one 256-thread block per SM to two) with the casts at their uses.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mstream {
#define GEN_PASS_DEF_GLOBALKERNELPOINTERS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// NVVM's global address space.
constexpr unsigned kGlobal = 1;

struct GlobalKernelPointersPass
    : mstream::impl::GlobalKernelPointersBase<GlobalKernelPointersPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<LLVM::LLVMFuncOp>())
      if (!func.isExternal() &&
          func->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()))
        globalize(func);
  }

  void globalize(LLVM::LLVMFuncOp kernel) {
    MLIRContext *context = &getContext();
    auto generic = LLVM::LLVMPointerType::get(context);
    auto global = LLVM::LLVMPointerType::get(context, kGlobal);
    SmallVector<Type> params(kernel.getFunctionType().getParams());
    for (BlockArgument argument : kernel.getArguments()) {
      if (argument.getType() != generic)
        continue;
      argument.setType(global);
      params[argument.getArgNumber()] = global;
      // A cast before each user: InferAddressSpaces folds it into the
      // user's global access, so no generic copy stays live.
      for (OpOperand &use : llvm::make_early_inc_range(argument.getUses())) {
        OpBuilder b(use.getOwner());
        use.set(LLVM::AddrSpaceCastOp::create(b, argument.getLoc(), generic,
                                              argument));
      }
    }
    kernel.setFunctionType(LLVM::LLVMFunctionType::get(
        kernel.getFunctionType().getReturnType(), params,
        kernel.getFunctionType().isVarArg()));
  }
};

} // namespace
