//===- OutlineLoopNests.cpp - the mstream-outline-loop-nests pass ---------===//
//
// Every top-level loop nest of a function becomes its own private,
// non-inlined function. LLVM's loop passes cost time superlinear in the
// size of the function they run on; many small functions keep the host
// code's optimisation linear in the depth of the model. A token loop
// (scf.forall) becomes a function of its token range, which
// mstream-dispatch-token-ranges hands to the runtime's threads.
//
//===----------------------------------------------------------------------===//

#include "mstream/Codegen/CPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SmallVectorExtras.h"

namespace mstream {
#define GEN_PASS_DEF_OUTLINELOOPNESTS
#include "mstream/Codegen/CPU/Passes.h.inc"
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
func::FuncOp outline(Operation *loop, func::FuncOp parent, Operation *previous,
                     SymbolTable &symbols) {
  SmallVector<Value> arguments;
  IRMapping map;
  func::FuncOp kernel =
      createKernel(loop, parent, previous, symbols, {}, arguments, map);
  auto b = OpBuilder::atBlockEnd(&kernel.getBody().front());
  Operation *cloned = b.clone(*loop, map);
  func::ReturnOp::create(b, loop->getLoc(), cloned->getResults());

  b.setInsertionPoint(loop);
  auto call = func::CallOp::create(b, loop->getLoc(), kernel, arguments);
  loop->replaceAllUsesWith(call.getResults());
  loop->erase();
  return kernel;
}

/// Clones `body`'s operations, not its terminator, at `b`.
void cloneBody(Block *body, OpBuilder &b, IRMapping &map) {
  for (Operation &op : body->without_terminator())
    b.clone(op, map);
}

/// `loop` becomes `kernel(0, count, values...)`, where `kernel(begin, end,
/// ...)` runs `emitRow` for each `row` in [begin, end) in an `scf.for`; the
/// function is marked for mstream-dispatch-token-ranges.
func::FuncOp
outlineRange(Operation *loop, Value row, OpFoldResult count,
             func::FuncOp parent, Operation *previous, SymbolTable &symbols,
             function_ref<void(OpBuilder &, IRMapping &)> emitRow) {
  Location loc = loop->getLoc();
  OpBuilder b(loop);
  SmallVector<Value> arguments;
  IRMapping map;
  Type index = b.getIndexType();
  func::FuncOp kernel = createKernel(loop, parent, previous, symbols,
                                     {index, index}, arguments, map);
  kernel->setAttr(mstream::kTokenRangeAttrName, b.getUnitAttr());
  Block &entry = kernel.getBody().front();
  b.setInsertionPointToEnd(&entry);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto rows = scf::ForOp::create(b, loc, entry.getArgument(0),
                                 entry.getArgument(1), one);
  map.map(row, rows.getInductionVar());
  b.setInsertionPoint(rows.getBody()->getTerminator());
  emitRow(b, map);
  b.setInsertionPointAfter(rows);
  func::ReturnOp::create(b, loc);

  b.setInsertionPoint(loop);
  SmallVector<Value> operands = {
      arith::ConstantIndexOp::create(b, loc, 0),
      getValueOrCreateConstantIndexOp(b, loc, count)};
  llvm::append_range(operands, arguments);
  func::CallOp::create(b, loc, kernel, operands);
  loop->erase();
  return kernel;
}

/// A bufferized token loop (an `scf.forall` over [0, count) with no results)
/// becomes a token-range function (outlineRange) over its tokens.
func::FuncOp outlineTokens(scf::ForallOp loop, func::FuncOp parent,
                           Operation *previous, SymbolTable &symbols) {
  std::optional<SmallVector<OpFoldResult>> upper = loop.getLoopUpperBounds();
  if (loop.getRank() != 1 || loop.getNumResults() != 0 || !upper ||
      !loop.isNormalized()) {
    loop.emitError("expected a bufferized token loop: one normalized "
                   "dimension and no results");
    return {};
  }
  return outlineRange(
      loop, loop.getInductionVar(0), upper->front(), parent, previous, symbols,
      [&](OpBuilder &b, IRMapping &map) { cloneBody(loop.getBody(), b, map); });
}

int64_t work(Block &block);

/// The operations `op` runs, counting each loop's static trip count (a
/// dynamic one as 1): roughly the work of a nest.
int64_t work(Operation &op) {
  int64_t trips = 1;
  if (auto loop = dyn_cast<LoopLikeOpInterface>(op)) {
    auto lowers = loop.getLoopLowerBounds(), uppers = loop.getLoopUpperBounds();
    auto steps = loop.getLoopSteps();
    if (lowers && uppers && steps)
      for (auto [lower, upper, step] : llvm::zip(*lowers, *uppers, *steps)) {
        std::optional<int64_t> l = getConstantIntValue(lower),
                               u = getConstantIntValue(upper),
                               s = getConstantIntValue(step);
        if (l && u && s && *s > 0)
          trips *= std::max<int64_t>(0, (*u - *l + *s - 1) / *s);
      }
  }
  int64_t inner = 0;
  for (Region &region : op.getRegions())
    for (Block &block : region)
      inner += work(block);
  return trips * std::max<int64_t>(inner, 1);
}

int64_t work(Block &block) {
  int64_t total = 0;
  for (Operation &op : block)
    total += work(op);
  return total;
}

/// A nest of less work runs on the calling thread: waking the pool's
/// threads would cost more than they save.
constexpr int64_t kParallelWork = int64_t(1) << 16;

/// A top-level `scf.parallel` (convert-linalg-to-parallel-loops: the
/// parallel dimensions of an op outside a token loop) with enough work
/// becomes a token-range function over its first dimension, like a token
/// loop, which mstream-dispatch-token-ranges hands to the runtime's threads;
/// its other dimensions stay an `scf.parallel` inside, run in sequence.
/// Others become plain functions.
func::FuncOp outlineParallel(scf::ParallelOp loop, func::FuncOp parent,
                             Operation *previous, SymbolTable &symbols) {
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()[0]),
                         step = getConstantIntValue(loop.getStep()[0]);
  if (!lower || *lower != 0 || !step || *step != 1 ||
      loop.getNumResults() != 0 || work(*loop) < kParallelWork)
    return outline(loop, parent, previous, symbols);
  return outlineRange(
      loop, loop.getInductionVars()[0], loop.getUpperBound()[0], parent,
      previous, symbols, [&](OpBuilder &b, IRMapping &map) {
        if (loop.getNumLoops() == 1)
          return cloneBody(loop.getBody(), b, map);
        auto rest = [&](OperandRange range) {
          return llvm::map_to_vector(range.drop_front(), [&](Value v) {
            return map.lookupOrDefault(v);
          });
        };
        auto inner = scf::ParallelOp::create(
            b, loop.getLoc(), rest(loop.getLowerBound()),
            rest(loop.getUpperBound()), rest(loop.getStep()));
        SmallVector<Value> outer = loop.getInductionVars();
        map.map(ArrayRef<Value>(outer).drop_front(), inner.getInductionVars());
        b.setInsertionPoint(inner.getBody()->getTerminator());
        cloneBody(loop.getBody(), b, map);
      });
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
          else if (auto parallel = dyn_cast<scf::ParallelOp>(op))
            previous = outlineParallel(parallel, func, previous, symbols);
          if (!previous)
            return signalPassFailure();
        }
    }
  }
};

} // namespace
