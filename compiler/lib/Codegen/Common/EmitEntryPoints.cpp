//===- EmitEntryPoints.cpp - the mstream-emit-entry-points pass -----------===//

#include "mstream/Codegen/Common/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mstream {
#define GEN_PASS_DEF_EMITENTRYPOINTS
#include "mstream/Codegen/Common/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct EmitEntryPointsPass
    : mstream::impl::EmitEntryPointsBase<EmitEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> entries;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func->hasAttr(mstream::kEntryShapesAttr))
        entries.push_back(func);
    for (LLVM::LLVMFuncOp entry : entries)
      if (failed(emitWrapper(entry)))
        return signalPassFailure();
  }

  LogicalResult emitWrapper(LLVM::LLVMFuncOp entry) {
    MLIRContext *context = &getContext();
    auto shapes = entry->getAttrOfType<ArrayAttr>(mstream::kEntryShapesAttr);
    unsigned expected = 0;
    for (Attribute shape : shapes)
      expected += 3 + 2 * cast<DenseI64ArrayAttr>(shape).size();
    if (entry.getNumArguments() != expected)
      return entry.emitError()
             << "expected " << expected << " descriptor arguments for "
             << shapes.size() << " memrefs, got " << entry.getNumArguments();

    Location loc = entry.getLoc();
    OpBuilder b(context);
    b.setInsertionPointToEnd(getOperation().getBody());
    auto ptr = LLVM::LLVMPointerType::get(context);
    auto wrapper = LLVM::LLVMFuncOp::create(
        b, loc, (mstream::kEntryPrefix + entry.getName()).str(),
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {ptr}));
    Block *body = wrapper.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    auto i64 = [&](int64_t value) -> Value {
      return LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                      b.getI64IntegerAttr(value));
    };

    // Descriptor of a static row-major memref: (allocated, aligned, offset,
    // sizes..., strides...).
    SmallVector<Value> args;
    for (auto [index, attr] : llvm::enumerate(shapes)) {
      ArrayRef<int64_t> shape = cast<DenseI64ArrayAttr>(attr).asArrayRef();
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{int32_t(index)});
      Value data = LLVM::LoadOp::create(b, loc, ptr, slot);
      args.append({data, data, i64(0)});
      for (int64_t size : shape)
        args.push_back(i64(size));
      SmallVector<int64_t> strides(shape.size(), 1);
      for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
        strides[i] = strides[i + 1] * shape[i + 1];
      for (int64_t stride : strides)
        args.push_back(i64(stride));
    }
    LLVM::CallOp::create(b, loc, entry, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return success();
  }
};

} // namespace
