//===- LoopsToGpu.cpp - the mstream-loops-to-gpu pass ---------------------===//
//
// The CUDA backend keeps every buffer in device memory, so after this pass
// the host code only allocates, calls the GEMM library and launches kernels.
//
//===----------------------------------------------------------------------===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mstream {
#define GEN_PASS_DEF_LOOPSTOGPU
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;
using mstream::isHostMetadata;
using mstream::isHostOnly;
using mstream::touchesDeviceMemory;

namespace {

constexpr int64_t kBlockSize = 256;

/// The most loads a loop's threads each repeat to compute a scalar the host
/// code would compute (mstream-loops-to-gpu's computeOnce).
constexpr int64_t kMaxSunkLoads = 8;

/// The most shared memory a kernel may declare; a block takes more only as
/// dynamic shared memory, which its launch names and the runtime allows
/// (cudaFuncAttributeMaxDynamicSharedMemorySize).
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// A gpu.launch of `grid` x 256 threads (or 1 x 1) before `before`, with
/// `dynamicShared` bytes of dynamic shared memory (an i32) if any; the
/// builder is left at the start of its body, before the terminator.
gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value grid, Value block,
                           Value dynamicShared = {}) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one,
                                      dynamicShared);
  b.setInsertionPointToEnd(&launch.getBody().front());
  auto terminator = gpu::TerminatorOp::create(b, loc);
  b.setInsertionPoint(terminator);
  return launch;
}

struct LoopsToGpuPass : mstream::impl::LoopsToGpuBase<LoopsToGpuPass> {
  /// Host scalars computed once on the device: value -> its device scalar.
  llvm::DenseMap<Value, Value> computedOnce;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<memref::CopyOp> copies;
    module.walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<gpu::LaunchOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies)
      mstream::copyToParallelLoop(copy);
    SmallVector<scf::ParallelOp> loops;
    module.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      sinkOperands(loop);
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && failed(keepMetadataOnHost(func)))
        return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && failed(mapBlock(func.getBody().front())))
        return signalPassFailure();
  }

  /// Moves the bookkeeping buffers to the host stack: allocas in the entry
  /// block (not in loops, where the stack would grow), no deallocations.
  LogicalResult keepMetadataOnHost(func::FuncOp func) {
    SmallVector<Operation *> allocs, deallocs;
    func.walk([&](Operation *op) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op);
          alloc && isHostMetadata(alloc.getType()))
        allocs.push_back(op);
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op);
          dealloc && isHostMetadata(dealloc.getMemref().getType()))
        deallocs.push_back(op);
    });
    OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
    for (Operation *op : allocs) {
      auto alloc = cast<memref::AllocOp>(op);
      if (!alloc.getType().hasStaticShape())
        return alloc.emitError("expected a static shape for a host buffer");
      Value stack =
          memref::AllocaOp::create(b, alloc.getLoc(), alloc.getType());
      alloc.replaceAllUsesWith(stack);
      alloc.erase();
    }
    for (Operation *op : deallocs)
      op->erase();
    return success();
  }

  /// Clones the loads and arithmetic whose values `loop` reads from the
  /// host into its body: they would otherwise run on the host over device
  /// memory. The copies read the same memory later, which is safe because
  /// bufferized code writes a buffer before any of its readers run.
  void sinkOperands(scf::ParallelOp loop) {
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(loop.getRegion(), captured);
    for (Value value : captured)
      computeOnce(value, loop);
    captured.clear();
    getUsedValuesDefinedAbove(loop.getRegion(), captured);
    SetVector<Operation *> slice;
    SmallVector<Value> sunk;
    for (Value value : captured)
      if (Operation *def = value.getDefiningOp();
          def && mstream::isSunkIntoKernels(def)) {
        slice.insert_range(sunkSlice(def));
        sunk.push_back(value);
      }
    if (sunk.empty())
      return;
    keepBuffersThrough(slice, loop);
    OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
    IRMapping mapping;
    for (Operation *op : slice)
      b.clone(*op, mapping);
    for (Value value : sunk)
      replaceAllUsesInRegionWith(value, mapping.lookup(value),
                                 loop.getRegion());
    // Users first, so that an op follows its users in.
    for (Operation *op : llvm::reverse(slice))
      sinkIntoBranch(mapping.lookup(op), loop.getBody());
    for (Operation *op : llvm::reverse(slice))
      if (op->use_empty())
        op->erase();
  }

  /// `op` and the ops it is computed from that a kernel computes again
  /// rather than taking their values (mstream::isSunkIntoKernels), operands
  /// first.
  static SetVector<Operation *> sunkSlice(Operation *op) {
    SetVector<Operation *> slice;
    std::function<void(Operation *)> collect = [&](Operation *op) {
      if (slice.contains(op) || !mstream::isSunkIntoKernels(op))
        return;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          collect(def);
      slice.insert(op);
    };
    collect(op);
    return slice;
  }

  /// The host code frees a buffer after its last use, which may be a load
  /// that `reader` repeats: such frees move after `reader`.
  static void keepBuffersThrough(const SetVector<Operation *> &slice,
                                 Operation *reader) {
    for (Operation *op : slice) {
      auto load = dyn_cast<memref::LoadOp>(op);
      if (!load)
        continue;
      for (Operation *user : mstream::viewedBuffer(load.getMemRef()).getUsers())
        if (auto dealloc = dyn_cast<memref::DeallocOp>(user);
            dealloc && dealloc->getBlock() == reader->getBlock() &&
            dealloc->isBeforeInBlock(reader))
          dealloc->moveAfter(reader);
    }
  }

  /// A scalar that `loop` reads from the host and that the host computes
  /// from more than kMaxSunkLoads loads (the global gradient norm: the sum
  /// of every tensor's partial sum) is computed once, by a loop of one
  /// point before it (a one-thread kernel), into a device scalar that the
  /// loop loads: every thread of the loop would otherwise load and add them
  /// all (the paper's tmm step: 150 loads per thread, ptxas keeping them in
  /// registers, 150 memref parameters). Later loops that read the same
  /// value load the same scalar.
  void computeOnce(Value value, scf::ParallelOp loop) {
    Operation *def = value.getDefiningOp();
    if (!def || !value.getType().isIntOrFloat() ||
        !mstream::isSunkIntoKernels(def))
      return;
    SetVector<Operation *> slice = sunkSlice(def);
    if (llvm::count_if(slice, [](Operation *op) {
          return isa<memref::LoadOp>(op);
        }) <= kMaxSunkLoads)
      return;
    Location loc = value.getLoc();
    OpBuilder b(loop);
    Value &buffer = computedOnce[value];
    if (!buffer || !buffer.getParentBlock()->findAncestorOpInBlock(*loop)) {
      buffer =
          memref::AllocOp::create(b, loc, MemRefType::get({}, value.getType()));
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto once = scf::ParallelOp::create(b, loc, zero, one, one);
      OpBuilder ib = OpBuilder::atBlockBegin(once.getBody());
      IRMapping mapping;
      for (Operation *op : slice)
        ib.clone(*op, mapping);
      memref::StoreOp::create(ib, loc, mapping.lookup(value), buffer);
      keepBuffersThrough(slice, once);
      // Stream-ordered: freed after the last kernel launched before it.
      OpBuilder db(buffer.getParentBlock()->getTerminator());
      memref::DeallocOp::create(db, loc, buffer);
    }
    Value loaded = memref::LoadOp::create(b, loc, buffer);
    replaceAllUsesInRegionWith(value, loaded, loop.getRegion());
    if (def->use_empty())
      computedOnce.erase(value);
    for (Operation *op : llvm::reverse(slice))
      if (op->use_empty())
        op->erase();
  }

  /// Moves `op` from the start of `body` into the `scf.if` branch that
  /// holds all of its users, if there is one, before the first of them. A
  /// merged kernel picks each tensor's update by a tree of branches on the
  /// thread's index: a thread then loads only its own tensor's scalars (a
  /// learning rate, a norm) rather than every part's at the start. Never
  /// into a loop, which would load them once per iteration.
  static void sinkIntoBranch(Operation *op, Block *body) {
    if (op->use_empty())
      return;
    // The blocks from the first user's up to `body`, innermost first.
    SmallVector<Block *> chain;
    for (Block *block = (*op->user_begin())->getBlock(); block != body;
         block = block->getParentOp()->getBlock())
      chain.push_back(block);
    chain.push_back(body);
    // The innermost of them that holds every user.
    size_t common = 0;
    for (Operation *user : op->getUsers())
      while (!chain[common]->findAncestorOpInBlock(*user))
        ++common;
    // Out of any loop on the way up.
    Block *target = body;
    for (size_t i = chain.size() - 1; i > common; --i) {
      if (!isa<scf::IfOp>(chain[i - 1]->getParentOp()))
        break;
      target = chain[i - 1];
    }
    if (target == body)
      return;
    Operation *first = nullptr;
    for (Operation *user : op->getUsers()) {
      Operation *ancestor = target->findAncestorOpInBlock(*user);
      if (!first || ancestor->isBeforeInBlock(first))
        first = ancestor;
    }
    // A load must not pass a write to its buffer: what runs before `first`
    // in its block and before the branches around it, in `body` too.
    if (auto load = dyn_cast<memref::LoadOp>(op))
      for (Operation *at = first;; at = at->getParentOp()) {
        for (Operation *before = at->getPrevNode(); before;
             before = before->getPrevNode())
          if (mayWrite(before, load.getMemRef()))
            return;
        if (at->getBlock() == body)
          break;
      }
    else if (!isPure(op))
      return;
    op->moveBefore(first);
  }

  /// Whether `op` or an op inside it may write `memref`. Distinct
  /// allocations and entry-point arguments are distinct buffers (as
  /// mstream-merge-parallel-loops assumes); ops that do not say what they
  /// write may write anything.
  static bool mayWrite(Operation *op, Value memref) {
    Value root = mstream::distinctBuffer(memref);
    auto distinct = [&](Value other) {
      Value otherRoot = mstream::distinctBuffer(other);
      return root && otherRoot && otherRoot != root;
    };
    return op
        ->walk([&](Operation *inner) {
          auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
          if (!effects) {
            if (inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
              return WalkResult::advance();
            return WalkResult::interrupt();
          }
          SmallVector<MemoryEffects::EffectInstance> writes;
          effects.getEffectsOnResource(SideEffects::DefaultResource::get(),
                                       writes);
          for (const MemoryEffects::EffectInstance &effect : writes)
            if (isa<MemoryEffects::Write>(effect.getEffect()) &&
                !(effect.getValue() && distinct(effect.getValue())))
              return WalkResult::interrupt();
          return WalkResult::advance();
        })
        .wasInterrupted();
  }

  /// Maps the host code of `block`: kernels for loop nests and device
  /// accesses, recursion into host loops and branches.
  LogicalResult mapBlock(Block &block) {
    SmallVector<Operation *> run;
    llvm::SmallPtrSet<Operation *, 16> inRun;
    // The run's op whose value `op` (or an op inside it) reads, if any.
    auto usedRunOp = [&](Operation *op) -> Operation * {
      Operation *used = nullptr;
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (Operation *def = operand.getDefiningOp();
              def && inRun.contains(def))
            used = def;
      });
      return used;
    };
    auto usesRun = [&](Operation *op) { return usedRunOp(op) != nullptr; };
    auto readsDeviceValue = [&](Operation *op) {
      InFlightDiagnostic diag =
          op->emitError("host code would read a value computed on the device");
      diag.attachNote(usedRunOp(op)->getLoc())
          << "computed here by " << usedRunOp(op)->getName();
      return diag;
    };
    auto flush = [&]() -> LogicalResult {
      if (run.empty())
        return success();
      LogicalResult result = launchSerial(run);
      run.clear();
      inRun.clear();
      return result;
    };

    // Flushing inserts recomputed values before later ops, so the next op
    // is read only after each op is handled.
    for (Operation *op = block.empty() ? nullptr : &block.front(); op;) {
      if (op->hasTrait<OpTrait::IsTerminator>()) {
        if (usesRun(op))
          return readsDeviceValue(op);
        break;
      }
      bool hostOnlyInside = false;
      op->walk([&](Operation *inner) { hostOnlyInside |= isHostOnly(inner); });
      if (touchesDeviceMemory(op) || (!hostOnlyInside && usesRun(op))) {
        run.push_back(op);
        inRun.insert(op);
        op = op->getNextNode();
        continue;
      }
      if (op->getNumRegions() == 0 && isPure(op)) {
        op = op->getNextNode();
        continue;
      }
      if (usesRun(op))
        return readsDeviceValue(op);
      if (failed(flush()))
        return failure();
      Operation *next = op->getNextNode();
      if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(launchParallel(parallel)))
          return failure();
      } else {
        for (Region &region : op->getRegions())
          for (Block &nested : region)
            if (failed(mapBlock(nested)))
              return failure();
      }
      op = next;
    }
    return flush();
  }

  /// Moves `run` into a one-thread kernel placed after its last op; the
  /// pure host ops in between stay before it. A value of the run that later
  /// code reads is recomputed there from memory (a load and the arithmetic
  /// on it), which becomes part of that code's kernel.
  LogicalResult launchSerial(ArrayRef<Operation *> run) {
    // One set of clones per reading op.
    DenseMap<Operation *, IRMapping> clones;
    for (Operation *op : run)
      for (OpOperand &use : llvm::make_early_inc_range(op->getUses()))
        if (!llvm::is_contained(run, use.getOwner()))
          if (failed(recompute(use, run, clones[use.getOwner()])))
            return failure();
    Operation *last = run.back();
    OpBuilder b(last->getContext());
    b.setInsertionPointAfter(last);
    Value one = arith::ConstantIndexOp::create(b, last->getLoc(), 1);
    gpu::LaunchOp launch = createLaunch(b, last->getLoc(), one, one);
    Operation *terminator = launch.getBody().front().getTerminator();
    for (Operation *op : run)
      op->moveBefore(terminator);
    return success();
  }

  /// Clones the loads and pure ops of the run that `use` reads before its
  /// owner. A load is only re-read if the run does not store to its buffer
  /// after it.
  LogicalResult recompute(OpOperand &use, ArrayRef<Operation *> run,
                          IRMapping &mapping) {
    SetVector<Operation *> slice;
    std::function<LogicalResult(Operation *)> collect =
        [&](Operation *op) -> LogicalResult {
      auto position = llvm::find(run, op);
      if (position == run.end() || slice.contains(op) ||
          mapping.contains(op->getResult(0)))
        return success();
      auto load = dyn_cast<memref::LoadOp>(op);
      bool pure = op->getNumRegions() == 0 && isPure(op);
      bool stored = false;
      if (load)
        for (Operation *later : llvm::make_range(position + 1, run.end()))
          later->walk([&](memref::StoreOp store) {
            stored |= store.getMemRef() == load.getMemRef();
          });
      if ((!load && !pure) || stored) {
        InFlightDiagnostic diag = use.getOwner()->emitError(
            "host code would read a value computed on the device");
        diag.attachNote(op->getLoc()) << "computed here by " << op->getName();
        return diag;
      }
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          if (failed(collect(def)))
            return failure();
      slice.insert(op);
      return success();
    };
    if (failed(collect(use.get().getDefiningOp())))
      return failure();
    OpBuilder b(use.getOwner());
    for (Operation *op : slice)
      b.clone(*op, mapping);
    use.set(mapping.lookup(use.get()));
    return success();
  }

  /// One thread per iteration point of `parallel`, delinearised with the
  /// innermost dimension fastest.
  LogicalResult launchParallel(scf::ParallelOp parallel) {
    if (parallel.getNumReductions() != 0)
      return parallel.emitError("parallel reductions are not mapped to the "
                                "GPU");
    if (auto slots =
            parallel->getAttrOfType<IntegerAttr>(mstream::kTokenSlotsAttrName))
      return launchTokens(parallel, slots.getInt());
    Location loc = parallel.getLoc();
    OpBuilder b(parallel);
    mstream::IterationSpace space = mstream::iterationSpace(b, parallel);
    Value block = arith::ConstantIndexOp::create(b, loc, kBlockSize);
    Value grid = arith::CeilDivUIOp::create(b, loc, space.total, block);
    gpu::LaunchOp launch = createLaunch(b, loc, grid, block);
    Value id = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, block),
        launch.getThreadIds().x);
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id,
                                         space.total);
    auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(guard.thenBlock());
    mstream::clonePoint(b, parallel, space, id);
    parallel.erase();
    return success();
  }

  /// A token loop (mstream-distribute-token-loops): `slots` blocks, block b
  /// running tokens b, b + slots, ... (the slot
  /// mstream-token-buffers-to-scratch gave them), its threads sharing each
  /// token's work.
  LogicalResult launchTokens(scf::ParallelOp tokens, int64_t slots) {
    if (tokens.getNumLoops() != 1)
      return tokens.emitError("expected a one-dimensional token loop");
    Location loc = tokens.getLoc();
    OpBuilder b(tokens);
    Value grid = arith::ConstantIndexOp::create(b, loc, slots);
    Value block = arith::ConstantIndexOp::create(b, loc, kBlockSize);
    // A token's buffer beyond what a kernel may declare: dynamic shared
    // memory, viewed from its start.
    auto isDynamic = [](Operation *op) {
      return mstream::isWorkgroupAlloca(op) &&
             mstream::memrefBytes(op->getResult(0).getType()) >
                 kMaxStaticSharedBytes;
    };
    Operation *dynamic = nullptr;
    for (Operation &op : tokens.getBody()->without_terminator())
      if (isDynamic(&op))
        dynamic = &op;
    Value dynamicShared;
    if (dynamic)
      dynamicShared = arith::ConstantIntOp::create(
          b, loc, b.getI32Type(),
          mstream::memrefBytes(dynamic->getResult(0).getType()));
    gpu::LaunchOp launch = createLaunch(b, loc, grid, block, dynamicShared);
    IRMapping mapping;
    if (dynamic) {
      auto type = cast<MemRefType>(dynamic->getResult(0).getType());
      Value all = gpu::DynamicSharedMemoryOp::create(
          b, dynamic->getLoc(),
          MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                          MemRefLayoutAttrInterface{}, type.getMemorySpace()));
      mapping.map(dynamic->getResult(0),
                  memref::ViewOp::create(
                      b, dynamic->getLoc(), type, all,
                      arith::ConstantIndexOp::create(b, dynamic->getLoc(), 0),
                      ValueRange{}));
    }
    Value step = arith::MulIOp::create(b, loc, tokens.getStep()[0], grid);
    Value first = arith::AddIOp::create(
        b, loc, tokens.getLowerBound()[0],
        arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                              tokens.getStep()[0]));
    auto loop =
        scf::ForOp::create(b, loc, first, tokens.getUpperBound()[0], step);
    b.setInsertionPointToStart(loop.getBody());
    mapping.map(tokens.getInductionVars()[0], loop.getInductionVar());
    for (Operation &op : tokens.getBody()->without_terminator()) {
      // The token's buffer in shared memory: the block's, for each of its
      // tokens in turn.
      if (&op == dynamic)
        continue;
      if (mstream::isWorkgroupAlloca(&op)) {
        Value buffer = op.getResult(0);
        mapping.map(buffer,
                    launch.addWorkgroupAttribution(
                        cast<MemRefType>(buffer.getType()), op.getLoc()));
        continue;
      }
      b.clone(op, mapping);
    }
    tokens.erase();
    return success();
  }
};

} // namespace
