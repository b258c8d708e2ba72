//===- DeduplicateKernels.cpp - the mstream-deduplicate-kernels pass ------===//
//
// Each layer of a model runs the same kernels on its own buffers. With the
// shapes sunk into them as constants, the paper's SOAP train step outlines
// 760 kernels of which 85 differ: compiling each once cut the PTX that
// ptxas reads from 612,036 lines to 89,180.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/OperationSupport.h"

namespace mstream {
#define GEN_PASS_DEF_DEDUPLICATEKERNELS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// What two equal kernels share, to compare bodies only within a bucket:
/// the signature, the attributes but the name, and the number of ops.
using KernelKey = std::tuple<Type, Attribute, int64_t>;

KernelKey keyOf(gpu::GPUFuncOp kernel) {
  NamedAttrList attributes(kernel->getAttrDictionary());
  attributes.erase(SymbolTable::getSymbolAttrName());
  int64_t ops = 0;
  kernel.getBody().walk([&](Operation *) { ++ops; });
  return {kernel.getFunctionType(),
          attributes.getDictionary(kernel.getContext()), ops};
}

struct DeduplicateKernelsPass
    : mstream::impl::DeduplicateKernelsBase<DeduplicateKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Kernel -> the first equal kernel of its module.
    llvm::DenseMap<SymbolRefAttr, SymbolRefAttr> replaced;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      llvm::DenseMap<KernelKey, SmallVector<gpu::GPUFuncOp>> buckets;
      for (auto kernel :
           llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>())) {
        if (!kernel.isKernel())
          continue;
        SmallVector<gpu::GPUFuncOp> &bucket = buckets[keyOf(kernel)];
        auto equal = llvm::find_if(bucket, [&](gpu::GPUFuncOp first) {
          return OperationEquivalence::isRegionEquivalentTo(
              &first.getBody(), &kernel.getBody(),
              OperationEquivalence::IgnoreLocations);
        });
        if (equal == bucket.end()) {
          bucket.push_back(kernel);
          continue;
        }
        auto name = [&](gpu::GPUFuncOp func) {
          return SymbolRefAttr::get(gpuModule.getNameAttr(),
                                    {FlatSymbolRefAttr::get(func)});
        };
        replaced[name(kernel)] = name(*equal);
        kernel.erase();
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto found = replaced.find(launch.getKernel());
      if (found != replaced.end())
        launch.setKernelAttr(found->second);
    });
  }
};

} // namespace
