//===- MergeParallelLoops.cpp - the mstream-merge-parallel-loops pass -----===//
//
// Horizontal fusion, as XLA's horizontal loop fusion does for optimizers: on
// the GPU every scf.parallel is a launch, and a launch costs more than a
// small tensor's elementwise update.
//
//===----------------------------------------------------------------------===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mstream {
#define GEN_PASS_DEF_MERGEPARALLELLOOPS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

using Roots = llvm::SmallDenseSet<const void *>;

/// Adds the buffers `memref` may be a view of to `roots`: allocations and
/// entry block arguments (as Values), globals (as their names), through
/// views and the memrefs an scf.for carries. False where one is unknown.
bool collectRoots(Value memref, Roots &roots, DenseSet<Value> &visited) {
  if (!visited.insert(memref).second)
    return true;
  // An scf.for's result or iteration argument is its init or what its body
  // yields.
  auto carried = [&](scf::ForOp loop, unsigned index) {
    return collectRoots(loop.getInitArgs()[index], roots, visited) &&
           collectRoots(loop.getYieldedValues()[index], roots, visited);
  };
  if (auto arg = dyn_cast<BlockArgument>(memref)) {
    Block *block = arg.getOwner();
    if (block->isEntryBlock() && isa<func::FuncOp>(block->getParentOp())) {
      roots.insert(memref.getAsOpaquePointer());
      return true;
    }
    auto loop = dyn_cast<scf::ForOp>(block->getParentOp());
    return loop && arg.getArgNumber() > 0 &&
           carried(loop, arg.getArgNumber() - 1);
  }
  Operation *def = memref.getDefiningOp();
  if (isa<memref::AllocOp, memref::AllocaOp>(def)) {
    roots.insert(memref.getAsOpaquePointer());
    return true;
  }
  if (auto global = dyn_cast<memref::GetGlobalOp>(def)) {
    roots.insert(global.getNameAttr().getAsOpaquePointer());
    return true;
  }
  if (auto loop = dyn_cast<scf::ForOp>(def))
    return carried(loop, cast<OpResult>(memref).getResultNumber());
  auto view = dyn_cast<ViewLikeOpInterface>(def);
  return view && collectRoots(view.getViewSource(), roots, visited);
}

/// The buffers an operation (with everything nested in it) reads and
/// writes; a freed buffer counts as written. `unknown`: it has effects that
/// cannot be placed on a buffer (a call).
struct Accesses {
  Roots reads, writes;
  bool unknown = false;

  Accesses() = default;
  explicit Accesses(Operation *op) {
    std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
        getEffectsRecursively(op);
    if (!effects) {
      unknown = true;
      return;
    }
    for (const MemoryEffects::EffectInstance &effect : *effects) {
      if (isa<MemoryEffects::Allocate>(effect.getEffect()))
        continue;
      DenseSet<Value> visited;
      unknown |=
          !effect.getValue() ||
          !collectRoots(effect.getValue(),
                        isa<MemoryEffects::Read>(effect.getEffect()) ? reads
                                                                     : writes,
                        visited);
    }
  }

  void add(const Accesses &other) {
    reads.insert(other.reads.begin(), other.reads.end());
    writes.insert(other.writes.begin(), other.writes.end());
    unknown |= other.unknown;
  }

  /// Whether `later` must stay after these accesses.
  bool orders(const Accesses &later) const {
    if (unknown || later.unknown)
      return true;
    auto meets = [](const Roots &a, const Roots &b) {
      return llvm::any_of(a,
                          [&](const void *root) { return b.contains(root); });
    };
    return meets(writes, later.reads) || meets(writes, later.writes) ||
           meets(reads, later.writes);
  }
};

/// Loops the pass may merge: one GPU thread per iteration point, effects
/// known.
bool isMergeable(scf::ParallelOp loop, const Accesses &accesses) {
  bool allocates = false;
  loop.walk([&](Operation *op) {
    allocates |= isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op);
  });
  return loop.getNumReductions() == 0 && !allocates && !accesses.unknown &&
         !loop->hasAttr(mstream::kTokenSlotsAttrName);
}

/// Whether `loop` has fewer points than a block has threads (a tensor of a
/// few elements, a scalar's update); unknown bounds count as large.
bool isSmall(scf::ParallelOp loop) {
  int64_t points = 1;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> lo = getConstantIntValue(lower),
                           hi = getConstantIntValue(upper),
                           st = getConstantIntValue(step);
    if (!lo || !hi || !st || *st <= 0)
      return false;
    points *= llvm::divideCeil(std::max<int64_t>(0, *hi - *lo), *st);
  }
  return points < 256;
}

/// The most small loops a run with large ones takes (see mergeRunFrom).
constexpr int64_t kMaxSmallBesideLarge = 8;

/// A run being collected: its loops and what they access, and the
/// operations between them that must follow the merged loop because they
/// depend on the run (or on such an operation), with what those access.
struct Run {
  SmallVector<scf::ParallelOp> loops;
  int64_t smallLoops = 0;
  Accesses accesses;
  /// The merged kernel's parameters (mstream::kernelParameters of what its
  /// loops read from outside) and their bytes.
  llvm::SetVector<Value> parameters;
  int64_t argumentBytes = 0;
  SmallVector<Operation *> deferred;
  llvm::SmallPtrSet<Operation *, 16> deferredSet;
  Accesses deferredAccesses;

  /// Whether `op` (or an op nested in it) uses a deferred op's result.
  bool usesDeferred(Operation *op) const {
    return op
        ->walk([&](Operation *inner) {
          for (Value operand : inner->getOperands())
            if (Operation *def = operand.getDefiningOp();
                def && deferredSet.contains(def))
              return WalkResult::interrupt();
          return WalkResult::advance();
        })
        .wasInterrupted();
  }

  /// The run's parameter bytes with `loopParameters` (parametersOf a loop)
  /// added.
  int64_t
  argumentBytesWith(const llvm::SetVector<Value> &loopParameters) const {
    int64_t bytes = argumentBytes;
    for (Value value : loopParameters)
      if (!parameters.contains(value))
        bytes += mstream::parameterBytes(value);
    return bytes;
  }

  /// The parameters a loop brings: what its body reads from outside and its
  /// bounds (the merged kernel's flat index is computed from them).
  static llvm::SetVector<Value> parametersOf(scf::ParallelOp loop) {
    llvm::SetVector<Value> values, added;
    getUsedValuesDefinedAbove(loop.getRegion(), values);
    values.insert_range(loop->getOperands());
    for (Value value : values)
      mstream::kernelParameters(value, added);
    return added;
  }

  /// Adds `loop`, whose parametersOf is `loopParameters`.
  void add(scf::ParallelOp loop, const Accesses &loopAccesses,
           const llvm::SetVector<Value> &loopParameters) {
    for (Value value : loopParameters)
      if (parameters.insert(value))
        argumentBytes += mstream::parameterBytes(value);
    loops.push_back(loop);
    smallLoops += isSmall(loop);
    accesses.add(loopAccesses);
  }

  void defer(Operation *op, const Accesses &opAccesses) {
    deferred.push_back(op);
    deferredSet.insert(op);
    deferredAccesses.add(opAccesses);
  }
};

/// Emits the body of the run's loop `[lo, hi)` that owns flat index `id`.
void emitTree(OpBuilder &b, Location loc, const Run &run,
              ArrayRef<mstream::IterationSpace> spaces, ArrayRef<Value> offsets,
              size_t lo, size_t hi, Value id) {
  if (hi - lo == 1) {
    Value local = lo == 0 ? id : arith::SubIOp::create(b, loc, id, offsets[lo]);
    mstream::clonePoint(b, run.loops[lo], spaces[lo], local);
    return;
  }
  size_t mid = (lo + hi) / 2;
  Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id,
                                      offsets[mid]);
  auto branch = scf::IfOp::create(b, loc, below, /*withElseRegion=*/true);
  OpBuilder thenBuilder = OpBuilder::atBlockTerminator(branch.thenBlock());
  emitTree(thenBuilder, loc, run, spaces, offsets, lo, mid, id);
  OpBuilder elseBuilder = OpBuilder::atBlockTerminator(branch.elseBlock());
  emitTree(elseBuilder, loc, run, spaces, offsets, mid, hi, id);
}

/// Replaces the run's loops by one loop before `before`, followed by the
/// deferred operations in their order; returns the loop.
scf::ParallelOp merge(const Run &run, Operation *before) {
  OpBuilder b(before);
  SmallVector<Location> locs;
  for (scf::ParallelOp loop : run.loops)
    locs.push_back(loop.getLoc());
  Location loc = b.getFusedLoc(locs);
  SmallVector<mstream::IterationSpace> spaces;
  SmallVector<Value> offsets{arith::ConstantIndexOp::create(b, loc, 0)};
  for (scf::ParallelOp loop : run.loops) {
    spaces.push_back(mstream::iterationSpace(b, loop));
    offsets.push_back(
        arith::AddIOp::create(b, loc, offsets.back(), spaces.back().total));
  }
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto merged = scf::ParallelOp::create(
      b, loc, ValueRange{offsets.front()}, ValueRange{offsets.back()},
      ValueRange{one}, [&](OpBuilder &nb, Location nl, ValueRange ivs) {
        emitTree(nb, nl, run, spaces, offsets, 0, run.loops.size(), ivs[0]);
      });
  for (scf::ParallelOp loop : run.loops)
    loop.erase();
  for (Operation *op : run.deferred)
    op->moveBefore(before);
  return merged;
}

/// Merges the runs of one block, one after another.
class RunMerger {
public:
  explicit RunMerger(int64_t maxArgumentBytes)
      : maxArgumentBytes(maxArgumentBytes) {}

  /// Collects the run that starts at the first mergeable loop from `start`
  /// and merges it. Returns where the next run may start: after a merged
  /// run, at the operations deferred behind it (the next level's loops),
  /// otherwise after the run's single loop; null at the block's end.
  Operation *mergeRunFrom(Operation *start) {
    Run run;
    for (Operation *op = start; op; op = op->getNextNode()) {
      const Accesses &opAccesses = accessesOf(op);
      // Whether `op` must follow the merged loop.
      bool follows = !run.loops.empty() &&
                     (run.usesDeferred(op) || run.accesses.orders(opAccesses) ||
                      run.deferredAccesses.orders(opAccesses));
      auto loop = dyn_cast<scf::ParallelOp>(op);
      bool mergeable = loop && isMergeable(loop, opAccesses) && !follows;
      // A merged kernel's threads each take one branch, but the generated
      // code selects among the branches' buffers up front: a hundred
      // scalars' updates beside the large tensors' took 164 registers in
      // every thread. Past a few, small loops wait for a run of their own,
      // as do large ones behind many small ones.
      bool crowded = false;
      if (mergeable && !run.loops.empty()) {
        int64_t small = run.smallLoops + isSmall(loop);
        int64_t large = int64_t(run.loops.size()) + 1 - small;
        crowded = small > kMaxSmallBesideLarge && large > 0;
      }
      bool joins = mergeable && !crowded;
      // A loop that would make the kernel's parameters too large starts the
      // next run.
      llvm::SetVector<Value> loopParameters;
      if (joins)
        loopParameters = Run::parametersOf(loop);
      bool full = joins && !run.loops.empty() &&
                  run.argumentBytesWith(loopParameters) > maxArgumentBytes;
      bool end = op->hasTrait<OpTrait::IsTerminator>() || full ||
                 (opAccesses.unknown && !run.loops.empty());
      if (end) {
        if (run.loops.size() < 2)
          return run.loops.empty() ? nullptr : run.loops.front()->getNextNode();
        for (scf::ParallelOp member : run.loops)
          accesses.erase(member);
        return merge(run, op)->getNextNode();
      }
      if (joins) {
        run.add(loop, opAccesses, loopParameters);
      } else if (isa<memref::DeallocOp>(op) && !run.loops.empty()) {
        // Freeing later is always safe, and must follow any use.
        run.defer(op, Accesses());
      } else if (follows || crowded) {
        // After the merged loop: the next run's.
        run.defer(op, opAccesses);
      }
    }
    return nullptr;
  }

private:
  int64_t maxArgumentBytes;
  /// What each operation accesses, computed once per block.
  DenseMap<Operation *, std::unique_ptr<Accesses>> accesses;

  const Accesses &accessesOf(Operation *op) {
    std::unique_ptr<Accesses> &entry = accesses[op];
    if (!entry)
      entry = std::make_unique<Accesses>(op);
    return *entry;
  }
};

struct MergeParallelLoopsPass
    : mstream::impl::MergeParallelLoopsBase<MergeParallelLoopsPass> {
  using MergeParallelLoopsBase::MergeParallelLoopsBase;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      if (!func.isExternal())
        mergeIn(func.getBody().front());
    });
  }

  /// Merges runs in the host regions nested in `block`, then in `block`.
  void mergeIn(Block &block) {
    for (Operation &op : block)
      if (!isa<scf::ParallelOp>(op))
        for (Region &region : op.getRegions())
          for (Block &nested : region)
            mergeIn(nested);
    RunMerger merger(maxArgumentBytes);
    Operation *start = block.empty() ? nullptr : &block.front();
    while (start)
      start = merger.mergeRunFrom(start);
  }
};

} // namespace
