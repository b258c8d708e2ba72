//===- MergeGpuModules.cpp - the mstream-merge-gpu-modules pass -----------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mstream {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// A token's shared-memory buffer holds its intermediates of every type at
/// 64-byte aligned offsets (mstream-token-buffers-to-scratch); outlining
/// drops the alignment of the launch's buffer, and an i8 array's own is 1.
constexpr int64_t kWorkgroupAlignment = 64;

void alignWorkgroupBuffers(ModuleOp module) {
  module.walk([](gpu::GPUFuncOp func) {
    for (unsigned index = 0, end = func.getNumWorkgroupAttributions();
         index < end; ++index)
      if (!func.getWorkgroupAttributionAttr(
              index, LLVM::LLVMDialect::getAlignAttrName()))
        func.setWorkgroupAttributionAttr(
            index, LLVM::LLVMDialect::getAlignAttrName(),
            Builder(func).getI64IntegerAttr(kWorkgroupAlignment));
  });
}

struct MergeGpuModulesPass
    : mstream::impl::MergeGpuModulesBase<MergeGpuModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    alignWorkgroupBuffers(module);
    auto modules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    if (modules.size() < 2)
      return;
    gpu::GPUModuleOp merged = modules.front();
    Block &body = merged.getBodyRegion().front();
    // Outlined kernels are named after their function; a moved kernel takes
    // its module's name, made unique if the merged module has it already.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    unsigned suffix = 0;
    for (gpu::GPUModuleOp other : llvm::drop_begin(modules)) {
      for (Operation &op :
           llvm::make_early_inc_range(other.getBodyRegion().front())) {
        StringAttr name = SymbolTable::getSymbolName(&op);
        StringAttr unique = other.getNameAttr();
        while (SymbolTable::lookupSymbolIn(merged, unique))
          unique = StringAttr::get(&getContext(),
                                   other.getName() + "_" + Twine(suffix++));
        SymbolTable::setSymbolName(&op, unique);
        renamed[{other.getNameAttr(), name}] = unique;
        op.moveBefore(&body, body.end());
      }
      other.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          merged.getNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
    });
  }
};

} // namespace
