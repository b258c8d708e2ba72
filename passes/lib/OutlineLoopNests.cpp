//===- OutlineLoopNests.cpp - the mstream-outline-loop-nests pass ---------===//
//
// Every top-level loop nest of a function becomes its own private,
// non-inlined function. LLVM's loop passes cost time superlinear in the
// size of the function they run on; many small functions keep the host
// code's optimisation linear in the depth of the model. A token loop
// (scf.forall) becomes a function of its token range, which
// mstream-parallel-token-loops hands to the runtime's threads.
//
//===----------------------------------------------------------------------===//

#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

/// A new function for `loop`, an op of `parent`, placed after `previous`:
/// `<parent>.<name>(leading..., values loop uses from above...)` returning
/// the loop's results, with its entry block mapping those values (constants
/// are cloned in). `arguments` receives what a call passes for the values.
func::FuncOp createKernel(Operation *loop, func::FuncOp parent,
                          Operation *previous, SymbolTable &symbols,
                          TypeRange leading, SmallVectorImpl<Value> &arguments,
                          IRMapping &map) {
  SetVector<Value> used(loop->operand_begin(), loop->operand_end());
  getUsedValuesDefinedAbove(loop->getRegions(), used);
  SmallVector<Value> constants;
  for (Value value : used)
    (isClonableConstant(value) ? constants : arguments).push_back(value);

  OpBuilder b(parent);
  b.setInsertionPointAfter(previous);
  Location loc = loop->getLoc();
  SmallVector<Type> types(leading);
  llvm::append_range(types, ValueRange(arguments).getTypes());
  auto kernel =
      func::FuncOp::create(b, loc, (parent.getName() + "." + nameOf(loc)).str(),
                           b.getFunctionType(types, loop->getResultTypes()));
  kernel.setPrivate();
  kernel->setAttr("passthrough", b.getStrArrayAttr({"noinline"}));
  kernel->setAttr(
      "llvm.linkage",
      LLVM::LinkageAttr::get(b.getContext(), LLVM::linkage::Linkage::Internal));
  symbols.insert(kernel);

  Block *body = kernel.addEntryBlock();
  b.setInsertionPointToStart(body);
  map.map(arguments, body->getArguments().drop_front(leading.size()));
  for (Value constant : constants)
    map.map(constant, b.clone(*constant.getDefiningOp())->getResult(0));
  return kernel;
}

/// `loop` becomes a call of a function holding it.
func::FuncOp outline(scf::ForOp loop, func::FuncOp parent, Operation *previous,
                     SymbolTable &symbols) {
  SmallVector<Value> arguments;
  IRMapping map;
  func::FuncOp kernel =
      createKernel(loop, parent, previous, symbols, {}, arguments, map);
  auto b = OpBuilder::atBlockEnd(&kernel.getBody().front());
  Operation *cloned = b.clone(*loop, map);
  func::ReturnOp::create(b, loop.getLoc(), cloned->getResults());

  b.setInsertionPoint(loop);
  auto call = func::CallOp::create(b, loop.getLoc(), kernel, arguments);
  loop->replaceAllUsesWith(call.getResults());
  loop->erase();
  return kernel;
}

/// A bufferized token loop (an `scf.forall` over [0, count) with no results)
/// becomes `kernel(0, count, values...)`, where `kernel(begin, end, ...)`
/// runs tokens [begin, end) in an `scf.for`; the function is marked for
/// mstream-parallel-token-loops.
func::FuncOp outlineTokens(scf::ForallOp loop, func::FuncOp parent,
                           Operation *previous, SymbolTable &symbols) {
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  std::optional<SmallVector<OpFoldResult>> upper = loop.getLoopUpperBounds();
  if (loop.getRank() != 1 || loop.getNumResults() != 0 || !upper ||
      !loop.isNormalized()) {
    loop.emitError("expected a bufferized token loop: one normalized "
                   "dimension and no results");
    return {};
  }
  SmallVector<Value> arguments;
  IRMapping map;
  Type index = b.getIndexType();
  func::FuncOp kernel = createKernel(loop, parent, previous, symbols,
                                     {index, index}, arguments, map);
  kernel->setAttr(mstream::kTokenRangeAttrName, b.getUnitAttr());
  Block &entry = kernel.getBody().front();
  b.setInsertionPointToEnd(&entry);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto tokens = scf::ForOp::create(b, loc, entry.getArgument(0),
                                   entry.getArgument(1), one);
  map.map(loop.getInductionVar(0), tokens.getInductionVar());
  b.setInsertionPoint(tokens.getBody()->getTerminator());
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  b.setInsertionPointAfter(tokens);
  func::ReturnOp::create(b, loc);

  b.setInsertionPoint(loop);
  SmallVector<Value> operands = {
      arith::ConstantIndexOp::create(b, loc, 0),
      getValueOrCreateConstantIndexOp(b, loc, upper->front())};
  llvm::append_range(operands, arguments);
  func::CallOp::create(b, loc, kernel, operands);
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
        for (Operation &op : llvm::make_early_inc_range(block)) {
          if (auto loop = dyn_cast<scf::ForOp>(op))
            previous = outline(loop, func, previous, symbols);
          else if (auto tokens = dyn_cast<scf::ForallOp>(op))
            previous = outlineTokens(tokens, func, previous, symbols);
          if (!previous)
            return signalPassFailure();
        }
    }
  }
};

} // namespace
