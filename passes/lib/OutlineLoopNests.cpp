//===- OutlineLoopNests.cpp - the mstream-outline-loop-nests pass ---------===//
//
// Every top-level loop nest of a function becomes its own private,
// non-inlined function. LLVM's loop passes cost time superlinear in the
// size of the function they run on; many small functions keep the host
// code's optimisation linear in the depth of the model.
//
//===----------------------------------------------------------------------===//

#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mstream {
#define GEN_PASS_DEF_OUTLINELOOPNESTS
#include "mstream/Passes/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// The innermost name a location carries ("layers.3.attn"), or "loop".
std::string nameOf(Location loc) {
  std::string name;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name.empty() ? "loop" : name;
}

bool isClonableConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
         def->hasTrait<OpTrait::ConstantLike>();
}

/// Outlines `loop`, a loop of `parent`, into a function placed after
/// `previous` (the previous kernel, or `parent`); returns the function.
func::FuncOp outline(scf::ForOp loop, func::FuncOp parent, Operation *previous,
                     SymbolTable &symbols) {
  SetVector<Value> used(loop->operand_begin(), loop->operand_end());
  getUsedValuesDefinedAbove(loop.getRegion(), used);
  SmallVector<Value> arguments, constants;
  for (Value value : used)
    (isClonableConstant(value) ? constants : arguments).push_back(value);

  OpBuilder b(parent);
  b.setInsertionPointAfter(previous);
  Location loc = loop.getLoc();
  auto type = b.getFunctionType(ValueRange(arguments).getTypes(),
                                loop.getResultTypes());
  auto kernel = func::FuncOp::create(
      b, loc, (parent.getName() + "." + nameOf(loc)).str(), type);
  kernel.setPrivate();
  kernel->setAttr("passthrough", b.getStrArrayAttr({"noinline"}));
  kernel->setAttr(
      "llvm.linkage",
      LLVM::LinkageAttr::get(b.getContext(), LLVM::linkage::Linkage::Internal));
  symbols.insert(kernel, std::next(Block::iterator(previous)));

  Block *body = kernel.addEntryBlock();
  b.setInsertionPointToStart(body);
  IRMapping map;
  map.map(arguments, body->getArguments());
  for (Value constant : constants)
    map.map(constant, b.clone(*constant.getDefiningOp())->getResult(0));
  Operation *cloned = b.clone(*loop, map);
  func::ReturnOp::create(b, loc, cloned->getResults());

  b.setInsertionPoint(loop);
  auto call = func::CallOp::create(b, loc, kernel, arguments);
  loop->replaceAllUsesWith(call.getResults());
  loop->erase();
  return kernel;
}

struct OutlineLoopNestsPass
    : mstream::impl::OutlineLoopNestsBase<OutlineLoopNestsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      Operation *previous = func;
      for (Block &block : func.getBody())
        for (auto loop : llvm::to_vector(block.getOps<scf::ForOp>()))
          previous = outline(loop, func, previous, symbols);
    }
  }
};

} // namespace
