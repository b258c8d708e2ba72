//===- RecordEntryShapes.cpp - the mstream-record-entry-shapes pass -------===//

#include "mstream/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mstream {
#define GEN_PASS_DEF_RECORDENTRYSHAPES
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct RecordEntryShapesPass
    : mstream::impl::RecordEntryShapesBase<RecordEntryShapesPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic() || func.getNumResults())
        continue;
      SmallVector<Attribute> shapes;
      for (Type type : func.getArgumentTypes()) {
        auto memref = dyn_cast<MemRefType>(type);
        if (!memref || !memref.hasStaticShape() ||
            !memref.getLayout().isIdentity())
          break;
        shapes.push_back(b.getDenseI64ArrayAttr(memref.getShape()));
      }
      if (shapes.size() == func.getNumArguments())
        func->setAttr(mstream::kEntryShapesAttr, b.getArrayAttr(shapes));
    }
  }
};

} // namespace
