//===- DispatchTokenRanges.cpp - token ranges on the runtime threads ------===//
//
// A token-range function's call becomes a dispatch to the runtime's
// parallel-for. The callee's values travel in an array of 8-byte slots, the
// usual closure of a C thread pool; a task function unpacks them.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/CPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

namespace mstream {
#define GEN_PASS_DEF_DISPATCHTOKENRANGES
#include "mstream/Codegen/CPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelFor = "mstream_parallel_for";

/// A value that fits one 8-byte slot.
bool fitsSlot(Type type) {
  if (isa<LLVM::LLVMPointerType>(type))
    return true;
  if (auto integer = dyn_cast<IntegerType>(type))
    return integer.getWidth() <= 64;
  return type.isF32() || type.isF64();
}

LLVM::LLVMFuncOp declareParallelFor(ModuleOp module, OpBuilder &b) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  MLIRContext *context = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  return LLVM::LLVMFuncOp::create(
      b, module.getLoc(), kParallelFor,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context),
                                  {i64, i64, ptr, ptr}));
}

/// `@<kernel>.task(context, begin, end)`: loads the values from the slots
/// and calls `kernel(begin, end, values...)`.
LLVM::LLVMFuncOp buildTask(LLVM::LLVMFuncOp kernel, OpBuilder &b) {
  MLIRContext *context = kernel.getContext();
  Location loc = kernel.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(kernel);
  auto task = LLVM::LLVMFuncOp::create(
      b, loc, (kernel.getName() + ".task").str(),
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context),
                                  {ptr, i64, i64}),
      LLVM::Linkage::Internal);
  Block *body = task.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> args = {body->getArgument(1), body->getArgument(2)};
  ArrayRef<Type> types = kernel.getFunctionType().getParams();
  for (auto [slot, type] : llvm::enumerate(types.drop_front(2))) {
    Value address = LLVM::GEPOp::create(b, loc, ptr, i64, body->getArgument(0),
                                        ArrayRef<LLVM::GEPArg>{int32_t(slot)});
    args.push_back(LLVM::LoadOp::create(b, loc, type, address));
  }
  LLVM::CallOp::create(b, loc, kernel, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return task;
}

/// Replaces `kernel(begin, end, values...)` by the dispatch of `task`.
void dispatch(LLVM::CallOp call, LLVM::LLVMFuncOp task,
              LLVM::LLVMFuncOp parallelFor) {
  OpBuilder b(call);
  Location loc = call.getLoc();
  MLIRContext *context = call.getContext();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  ValueRange values = call.getArgOperands().drop_front(2);
  Value count = LLVM::ConstantOp::create(
      b, loc, i64, b.getI64IntegerAttr(std::max<size_t>(values.size(), 1)));
  Value slots = LLVM::AllocaOp::create(b, loc, ptr, i64, count);
  for (auto [slot, value] : llvm::enumerate(values)) {
    Value address = LLVM::GEPOp::create(b, loc, ptr, i64, slots,
                                        ArrayRef<LLVM::GEPArg>{int32_t(slot)});
    LLVM::StoreOp::create(b, loc, value, address);
  }
  Value function = LLVM::AddressOfOp::create(b, loc, task);
  LLVM::CallOp::create(b, loc, parallelFor,
                       ValueRange{call.getArgOperands()[0],
                                  call.getArgOperands()[1], function, slots});
  call.erase();
}

struct DispatchTokenRangesPass
    : mstream::impl::DispatchTokenRangesBase<DispatchTokenRangesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(&getContext());
    auto i64 = IntegerType::get(&getContext(), 64);
    // Kernels in module order, so that the tasks are emitted
    // deterministically; their calls by kernel name.
    SmallVector<LLVM::LLVMFuncOp> kernels;
    llvm::StringMap<SmallVector<LLVM::CallOp>> calls;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>()) {
      if (!func->hasAttr(mstream::kTokenRangeAttrName))
        continue;
      ArrayRef<Type> types = func.getFunctionType().getParams();
      if (types.size() < 2 || types[0] != i64 || types[1] != i64 ||
          !llvm::all_of(types.drop_front(2), fitsSlot)) {
        func.emitError() << "token-range function '" << func.getName()
                         << "' must take (i64 begin, i64 end) and values "
                            "of at most 8 bytes, got "
                         << func.getFunctionType();
        return signalPassFailure();
      }
      kernels.push_back(func);
      calls[func.getName()];
    }
    if (kernels.empty())
      return;
    // One walk for every kernel's calls, before the tasks add their own.
    module.walk([&](LLVM::CallOp call) {
      if (std::optional<StringRef> callee = call.getCallee())
        if (auto found = calls.find(*callee); found != calls.end())
          found->second.push_back(call);
    });
    LLVM::LLVMFuncOp parallelFor = declareParallelFor(module, b);
    for (LLVM::LLVMFuncOp kernel : kernels) {
      LLVM::LLVMFuncOp task = buildTask(kernel, b);
      for (LLVM::CallOp call : calls.lookup(kernel.getName()))
        dispatch(call, task, parallelFor);
    }
  }
};

} // namespace
