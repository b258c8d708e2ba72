//===- MergeGpuModules.cpp - the mstream-merge-gpu-modules pass -----------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mstream {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct MergeGpuModulesPass
    : mstream::impl::MergeGpuModulesBase<MergeGpuModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
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
