//===- WrapSerialRuns.cpp - the mstream-wrap-serial-runs pass -------------===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mstream {
#define GEN_PASS_DEF_WRAPSERIALRUNS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

struct WrapSerialRunsPass
    : mstream::impl::WrapSerialRunsBase<WrapSerialRunsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        wrapBlock(func.getBody().front());
  }

  /// Wraps the runs of `block`, as mstream-loops-to-gpu delimits them, and
  /// those of the host loops and branches in it.
  void wrapBlock(Block &block) {
    sinkScalarChains(block);
    SmallVector<Operation *> run;
    llvm::SmallPtrSet<Operation *, 16> inRun;
    auto usesRun = [&](Operation *op) {
      bool uses = false;
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (Operation *def = operand.getDefiningOp())
            uses |= inRun.contains(def);
      });
      return uses;
    };
    // Deallocations met inside a run, moved after it.
    SmallVector<Operation *> deferred;
    auto flush = [&] {
      if (!run.empty()) {
        Operation *end = run.back();
        if (selfContained(block, run, inRun))
          end = wrap(run);
        for (Operation *dealloc : llvm::reverse(deferred))
          dealloc->moveAfter(end);
      }
      run.clear();
      inRun.clear();
      deferred.clear();
    };
    for (Operation *op = block.empty() ? nullptr : &block.front(); op;) {
      Operation *next = op->getNextNode();
      if (op->hasTrait<OpTrait::IsTerminator>())
        break;
      bool hostOnlyInside = false;
      op->walk([&](Operation *inner) {
        hostOnlyInside |= mstream::isHostOnly(inner);
      });
      // The next buffer's allocation would end the run: it moves before
      // the run (it reads nothing), its deallocation after.
      if (auto alloc = dyn_cast<memref::AllocOp>(op);
          alloc && !run.empty() && alloc->getNumOperands() == 0 &&
          !mstream::isHostMetadata(alloc.getType())) {
        op->moveBefore(run.front());
      } else if (isa<memref::DeallocOp>(op) && !run.empty()) {
        deferred.push_back(op);
      } else if (mstream::touchesDeviceMemory(op) ||
                 (!hostOnlyInside && op->getNumRegions() == 0 && isPure(op) &&
                  usesRun(op))) {
        run.push_back(op);
        inRun.insert(op);
      } else if (!(op->getNumRegions() == 0 && isPure(op))) {
        flush();
        if (isa<scf::ForOp, scf::IfOp>(op))
          for (Region &region : op->getRegions())
            for (Block &nested : region)
              wrapBlock(nested);
      }
      op = next;
    }
    flush();
  }

  /// Moves loads and pure arithmetic down to their first user in `block`.
  /// A scalar computed across runs (the global gradient norm adds each
  /// tensor's sum of squares to a running total as it goes) otherwise ties
  /// every run to the next; sunk, the loads and additions form one run at
  /// the end, and the runs that fill each tensor's sum are independent.
  /// A load moves only past operations that cannot write or free its
  /// buffer (so not past calls).
  static void sinkScalarChains(Block &block) {
    SmallVector<Operation *> candidates;
    for (Operation &op : block)
      if ((isa<memref::LoadOp>(op) &&
           !mstream::isHostMetadata(
               cast<memref::LoadOp>(op).getMemRefType())) ||
          (op.getNumRegions() == 0 && isPure(&op) &&
           !op.hasTrait<OpTrait::ConstantLike>() && op.getNumResults() == 1))
        candidates.push_back(&op);
    for (Operation *op : llvm::reverse(candidates)) {
      Operation *first = nullptr;
      for (Operation *user : op->getUsers()) {
        Operation *ancestor = block.findAncestorOpInBlock(*user);
        if (!ancestor) {
          first = nullptr;
          break;
        }
        if (!first || ancestor->isBeforeInBlock(first))
          first = ancestor;
      }
      if (!first || first == op->getNextNode())
        continue;
      auto load = dyn_cast<memref::LoadOp>(op);
      Value root = load ? mstream::viewedBuffer(load.getMemRef()) : Value();
      bool blocked = false;
      for (Operation *between = op->getNextNode(); between != first && !blocked;
           between = between->getNextNode())
        blocked = load && mayWriteOrFree(between, root);
      if (!blocked)
        op->moveBefore(first);
    }
  }

  /// Whether `op` (or an op in it) may write or free `root`'s memory.
  static bool mayWriteOrFree(Operation *op, Value root) {
    WalkResult result = op->walk([&](Operation *inner) {
      if (inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return WalkResult::advance();
      auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
      if (!effects)
        return isPure(inner) ? WalkResult::advance() : WalkResult::interrupt();
      SmallVector<MemoryEffects::EffectInstance> instances;
      effects.getEffects(instances);
      for (const MemoryEffects::EffectInstance &effect : instances) {
        if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
          continue;
        Value value = effect.getValue();
        if (!value || mstream::viewedBuffer(value) == root)
          return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return result.wasInterrupted();
  }

  /// Whether nothing outside `run` reads a value it defines.
  static bool selfContained(Block &block, ArrayRef<Operation *> run,
                            const llvm::SmallPtrSetImpl<Operation *> &inRun) {
    for (Operation *op : run)
      for (Operation *user : op->getUsers())
        if (!inRun.contains(block.findAncestorOpInBlock(*user)))
          return false;
    return true;
  }

  /// Moves `run` into an scf.parallel of one point after its last op;
  /// returns the loop.
  static Operation *wrap(ArrayRef<Operation *> run) {
    Operation *last = run.back();
    Location loc = last->getLoc();
    OpBuilder b(last->getContext());
    b.setInsertionPointAfter(last);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
    Operation *terminator = loop.getBody()->getTerminator();
    for (Operation *op : run)
      op->moveBefore(terminator);
    return loop;
  }
};

} // namespace
