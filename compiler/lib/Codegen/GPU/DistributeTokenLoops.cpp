//===- DistributeTokenLoops.cpp - the mstream-distribute-token-loops pass -===//
//
// A token's work is a few thousand elements: too little for a kernel of its
// own, the right size for one block. One block per token keeps the token's
// intermediates in its L1 and shares each feature loop among its threads,
// where one thread per token would read the streams uncoalesced.
//
//===----------------------------------------------------------------------===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/MathExtras.h"

namespace mstream {
#define GEN_PASS_DEF_DISTRIBUTETOKENLOOPS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

Value constantIndex(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Whether `op`, or an op inside it, may have a memory effect of kind
/// `Effect` (ops that do not say count as having it).
template <typename Effect> bool mayHaveEffect(Operation *op) {
  bool found = false;
  op->walk([&](Operation *inner) {
    if (auto effects = dyn_cast<MemoryEffectOpInterface>(inner))
      found |= effects.hasEffect<Effect>();
    else if (!inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      found = true;
  });
  return found;
}

/// Whether `op` allocates the token's buffer in its block's shared memory
/// (mstream-token-buffers-to-scratch), once per token: one buffer for all of
/// the block's threads, not one per thread.
bool isBlockBuffer(Operation *op, scf::ForallOp loop) {
  return op->getBlock() == loop.getBody() && mstream::isWorkgroupAlloca(op);
}

bool containsParallelLoop(Operation *op) {
  return op->getNumRegions() != 0 && op->walk([](scf::ParallelOp) {
                                         return WalkResult::interrupt();
                                       }).wasInterrupted();
}

/// The threads of a warp, which exchange registers with gpu.shuffle.
constexpr int64_t kWarpSize = 32;

/// mstream-split-reductions' last stage as convert-linalg-to-parallel-loops
/// lowers it: P partial results combined into one element,
///   scf.for %k = 0 to P { %a = load IN[..., %k]; %b = load OUT[...];
///                         %c = combine(%a, %b); store %c, OUT[...] }
/// with P a power of two of at most a warp's lanes squared (two rounds of
/// shuffles).
struct PartialReduction {
  scf::ForOp loop;
  memref::LoadOp partial, accumulator;
  Operation *combiner;
  memref::StoreOp store;
  int64_t size;
};

/// Whether a butterfly of shuffles may compute `op`'s reduction: it
/// reassociates and commutes the combiner, and a shuffle moves 32 bits.
bool isShuffleCombiner(Operation *op) {
  if (op->getNumOperands() != 2 || op->getNumResults() != 1 ||
      op->getNumRegions() != 0)
    return false;
  Type type = op->getResult(0).getType();
  if (!type.isF32() && !type.isInteger(32))
    return false;
  return isa<arith::AddFOp, arith::MulFOp, arith::MaxNumFOp, arith::MinNumFOp,
             arith::MaximumFOp, arith::MinimumFOp, arith::AddIOp, arith::MulIOp,
             arith::AndIOp, arith::OrIOp, arith::XOrIOp, arith::MaxSIOp,
             arith::MinSIOp, arith::MaxUIOp, arith::MinUIOp>(op);
}

/// Whether `memref` is a buffer of its own (an allocation, or a slot of a
/// token's scratch buffer, which mstream-token-buffers-to-scratch views as
/// bytes) that nothing reads or writes after `loop`, through it or a view of
/// it: more than a warp's partials are combined in place.
bool isLastUse(Value memref, scf::ForOp loop) {
  Operation *buffer = memref.getDefiningOp();
  if (!buffer ||
      !isa<memref::AllocOp, memref::AllocaOp, memref::ViewOp>(buffer))
    return false;
  return mstream::allUsesThroughViews(memref, [&](Operation *user) {
    Operation *ancestor = loop->getBlock()->findAncestorOpInBlock(*user);
    return ancestor && !loop->isBeforeInBlock(ancestor);
  });
}

std::optional<PartialReduction> matchPartialReduction(scf::ForOp loop) {
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  if (!lower || !upper || !step || *lower != 0 || *step != 1 || *upper < 2 ||
      *upper > kWarpSize * kWarpSize || !llvm::isPowerOf2_64(*upper) ||
      loop.getNumRegionIterArgs() != 0)
    return std::nullopt;
  SmallVector<Operation *> ops;
  for (Operation &op : loop.getBody()->without_terminator())
    ops.push_back(&op);
  if (ops.size() != 4)
    return std::nullopt;
  auto first = dyn_cast<memref::LoadOp>(ops[0]);
  auto second = dyn_cast<memref::LoadOp>(ops[1]);
  auto store = dyn_cast<memref::StoreOp>(ops[3]);
  Operation *combiner = ops[2];
  if (!first || !second || !store || !isShuffleCombiner(combiner) ||
      store.getValueToStore() != combiner->getResult(0))
    return std::nullopt;
  Value k = loop.getInductionVar();
  auto readsPartial = [&](memref::LoadOp load) {
    return !load.getIndices().empty() && load.getIndices().back() == k;
  };
  memref::LoadOp partial = readsPartial(first) ? first : second;
  memref::LoadOp accumulator = partial == first ? second : first;
  if (!readsPartial(partial) || readsPartial(accumulator) ||
      partial.getMemRef() == accumulator.getMemRef() ||
      accumulator.getMemRef() != store.getMemRef() ||
      accumulator.getIndices() != store.getIndices() ||
      llvm::is_contained(accumulator.getIndices(), k) ||
      llvm::is_contained(partial.getIndices().drop_back(), k))
    return std::nullopt;
  Value a = combiner->getOperand(0), b = combiner->getOperand(1);
  if (!((a == partial.getResult() && b == accumulator.getResult()) ||
        (a == accumulator.getResult() && b == partial.getResult())))
    return std::nullopt;
  if (*upper > kWarpSize && !isLastUse(partial.getMemRef(), loop))
    return std::nullopt;
  return PartialReduction{loop, partial, accumulator, combiner, store, *upper};
}

/// Rewrites one token's body for a block of threads. `thread` and
/// `threads` are the thread's index and the block's size.
struct BlockDistributor {
  Value thread, threads;
  /// No barriers: the block is one thread (the CPU emulation).
  bool oneThread = false;

  /// A barrier at the builder's point, unless one is right before it.
  void barrier(OpBuilder &b, Location loc) {
    if (oneThread)
      return;
    Block *block = b.getInsertionBlock();
    auto point = b.getInsertionPoint();
    if (point != block->begin() && isa<gpu::BarrierOp>(*std::prev(point)))
      return;
    gpu::BarrierOp::create(b, loc);
  }

  LogicalResult distribute(Block &block) {
    SmallVector<Operation *> ops;
    for (Operation &op : block.without_terminator())
      ops.push_back(&op);
    // Conservatively, another thread may still read what the block's first
    // write overwrites (the last token's, or the last iteration's, reads).
    bool readSinceBarrier = true;
    SmallVector<Operation *> serial;
    auto flush = [&]() {
      if (serial.empty())
        return;
      runInThreadZero(serial, readSinceBarrier);
      serial.clear();
      readSinceBarrier = false;
    };
    for (Operation *op : ops) {
      std::optional<PartialReduction> reduction;
      if (auto loop = dyn_cast<scf::ForOp>(op))
        reduction = matchPartialReduction(loop);
      if (reduction) {
        memref::StoreOp init = takeInitialValue(serial, *reduction);
        flush();
        reduceWithShuffles(*reduction, init, readSinceBarrier);
        readSinceBarrier = false;
        continue;
      }
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        flush();
        if (failed(spread(loop, readSinceBarrier)))
          return failure();
        readSinceBarrier = false;
        continue;
      }
      if (containsParallelLoop(op)) {
        // A loop around parallel nests (a matrix iteration): every thread
        // runs it, so that each can take its share of the nests.
        flush();
        for (Region &region : op->getRegions())
          for (Block &nested : region)
            if (failed(distribute(nested)))
              return failure();
        readSinceBarrier = true;
        continue;
      }
      if (!mayHaveEffect<MemoryEffects::Write>(op)) {
        // Every thread computes it; a read waits for the writes before it.
        if (mayHaveEffect<MemoryEffects::Read>(op)) {
          flush();
          readSinceBarrier = true;
        }
        continue;
      }
      if (llvm::any_of(op->getResults(),
                       [](Value result) { return !result.use_empty(); }))
        return op->emitError("cannot run in one thread of the token's block: "
                             "it writes memory and every thread uses its "
                             "results");
      serial.push_back(op);
    }
    flush();
    return success();
  }

  /// Moves `ops` into an `if thread == 0` after the last of them, between
  /// barriers. Ops in between write no memory and read none, so they can
  /// run before.
  void runInThreadZero(ArrayRef<Operation *> ops, bool barrierBefore) {
    Location loc = ops.front()->getLoc();
    OpBuilder b(ops.back()->getContext());
    b.setInsertionPointAfter(ops.back());
    if (barrierBefore)
      barrier(b, loc);
    Value first =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                              arith::ConstantIndexOp::create(b, loc, 0));
    auto guard = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
    for (Operation *op : ops)
      op->moveBefore(guard.thenBlock()->getTerminator());
    b.setInsertionPointAfter(guard);
    barrier(b, loc);
  }

  /// The store of the accumulator's initial value, if it is the last of
  /// thread 0's pending writes (a fill before the reduction); taken out of
  /// `serial`, so that the reduction combines with the value itself.
  static memref::StoreOp takeInitialValue(SmallVectorImpl<Operation *> &serial,
                                          PartialReduction reduction) {
    if (serial.empty())
      return {};
    auto store = dyn_cast<memref::StoreOp>(serial.back());
    if (!store || store.getMemRef() != reduction.store.getMemRef() ||
        store.getIndices() != reduction.store.getIndices())
      return {};
    serial.pop_back();
    return store;
  }

  /// Combines `value` across each aligned group of `width` lanes (a
  /// power of two of at most a warp) with a butterfly of xor shuffles,
  /// after which every lane of the group holds the group's combination.
  static Value butterfly(OpBuilder &b, Location loc, Value value, int64_t width,
                         function_ref<Value(Value, Value)> combine) {
    for (int64_t offset = width / 2; offset >= 1; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                            gpu::ShuffleMode::XOR);
      value = combine(value, shuffle.getShuffleResult());
    }
    return value;
  }

  /// `reduction` with shuffles instead of thread 0's loop. Up to a warp's
  /// width of partials: warp 0's lane l loads partial l (modulo their
  /// number: lanes past it form groups of their own), a butterfly combines
  /// them, and thread 0 combines the result with the accumulator. More: a
  /// first round in which each warp in turn combines 32 partials and leaves
  /// their combination in the first of them (the partials die here), then
  /// the same in warp 0 over those. Warps take part whole: the blocks are
  /// a multiple of 32 threads (mstream-loops-to-gpu launches 256), so the
  /// shuffles' full masks name only running lanes. `init`, if any, stored
  /// the accumulator's initial value right before; it is combined without
  /// the round trip through memory.
  void reduceWithShuffles(PartialReduction reduction, memref::StoreOp init,
                          bool barrierBefore) {
    scf::ForOp loop = reduction.loop;
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    if (barrierBefore)
      barrier(b, loc);
    auto combine = [&](Value partial, Value accumulator) {
      IRMapping mapping;
      mapping.map(reduction.partial.getResult(), partial);
      mapping.map(reduction.accumulator.getResult(), accumulator);
      return b.clone(*reduction.combiner, mapping)->getResult(0);
    };
    auto partialAt = [&](Value k) {
      SmallVector<Value> indices(reduction.partial.getIndices());
      indices.back() = k;
      return indices;
    };
    Value partials = reduction.partial.getMemRef();
    Value accumulator = init ? init.getValueToStore() : Value();
    auto finish = [&](Value value) {
      if (!accumulator)
        accumulator =
            memref::LoadOp::create(b, loc, reduction.accumulator.getMemRef(),
                                   reduction.accumulator.getIndices());
      memref::StoreOp::create(b, loc, combine(value, accumulator),
                              reduction.store.getMemRef(),
                              reduction.store.getIndices());
    };
    if (oneThread) {
      emulateShuffles(b, loc, reduction.size, partials, partialAt, combine,
                      finish);
    } else {
      shuffle(b, loc, reduction.size, partials, partialAt, combine, finish);
      b.setInsertionPoint(loop);
      barrier(b, loc);
    }
    loop.erase();
    if (init)
      init.erase();
  }

  /// reduceWithShuffles' rounds on the GPU.
  void shuffle(OpBuilder &b, Location loc, int64_t size, Value partials,
               function_ref<SmallVector<Value>(Value)> partialAt,
               function_ref<Value(Value, Value)> combine,
               function_ref<void(Value)> finish) {
    int64_t groups = size, stride = 1;
    if (size > kWarpSize) {
      auto warps = scf::ForOp::create(b, loc, thread,
                                      constantIndex(b, loc, size), threads);
      b.setInsertionPointToStart(warps.getBody());
      Value k = warps.getInductionVar();
      Value value = memref::LoadOp::create(b, loc, partials, partialAt(k));
      value = butterfly(b, loc, value, kWarpSize, combine);
      Value laneZero = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::AndIOp::create(b, loc, k,
                                constantIndex(b, loc, kWarpSize - 1)),
          constantIndex(b, loc, 0));
      auto leader =
          scf::IfOp::create(b, loc, laneZero, /*withElseRegion=*/false);
      b.setInsertionPoint(leader.thenBlock()->getTerminator());
      memref::StoreOp::create(b, loc, value, partials, partialAt(k));
      b.setInsertionPointAfter(warps);
      barrier(b, loc);
      groups = size / kWarpSize;
      stride = kWarpSize;
    }
    Value inWarp =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, thread,
                              constantIndex(b, loc, kWarpSize));
    auto warp = scf::IfOp::create(b, loc, inWarp, /*withElseRegion=*/false);
    b.setInsertionPoint(warp.thenBlock()->getTerminator());
    Value k = arith::AndIOp::create(b, loc, thread,
                                    constantIndex(b, loc, groups - 1));
    if (stride != 1)
      k = arith::MulIOp::create(b, loc, k, constantIndex(b, loc, stride));
    Value value = memref::LoadOp::create(b, loc, partials, partialAt(k));
    value = butterfly(b, loc, value, groups, combine);
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        thread, constantIndex(b, loc, 0));
    auto leader = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
    b.setInsertionPoint(leader.thenBlock()->getTerminator());
    finish(value);
  }

  /// reduceWithShuffles' rounds in the one-thread emulation, which has no
  /// shuffles: the thread loads every lane's partial and combines them in
  /// the order a butterfly does for lane 0 (at each offset o, lanes l < o
  /// with lanes l + o), so that the emulation combines in the GPU's order
  /// and its indexing and first round's stores are checked against the CPU.
  void emulateShuffles(OpBuilder &b, Location loc, int64_t size, Value partials,
                       function_ref<SmallVector<Value>(Value)> partialAt,
                       function_ref<Value(Value, Value)> combine,
                       function_ref<void(Value)> finish) {
    auto lanes = [&](int64_t width, function_ref<Value(int64_t)> at) {
      SmallVector<Value> values;
      for (int64_t lane = 0; lane < width; ++lane)
        values.push_back(
            memref::LoadOp::create(b, loc, partials, partialAt(at(lane))));
      for (int64_t offset = width / 2; offset >= 1; offset /= 2)
        for (int64_t lane = 0; lane < offset; ++lane)
          values[lane] = combine(values[lane], values[lane + offset]);
      return values.empty() ? Value() : values.front();
    };
    int64_t groups = size, stride = 1;
    if (size > kWarpSize) {
      auto warps = scf::ForOp::create(b, loc, constantIndex(b, loc, 0),
                                      constantIndex(b, loc, size),
                                      constantIndex(b, loc, kWarpSize));
      b.setInsertionPointToStart(warps.getBody());
      Value first = warps.getInductionVar();
      Value value = lanes(kWarpSize, [&](int64_t lane) {
        return arith::AddIOp::create(b, loc, first, constantIndex(b, loc, lane))
            .getResult();
      });
      memref::StoreOp::create(b, loc, value, partials, partialAt(first));
      b.setInsertionPointAfter(warps);
      groups = size / kWarpSize;
      stride = kWarpSize;
    }
    finish(lanes(groups, [&](int64_t lane) {
      return constantIndex(b, loc, lane * stride);
    }));
  }

  /// `loop`'s points over the threads, in turn: thread i takes the points
  /// i, i + threads, ..., the innermost dimension fastest (coalesced).
  LogicalResult spread(scf::ParallelOp loop, bool barrierBefore) {
    if (loop.getNumReductions() != 0)
      return loop.emitError("parallel reductions in a token loop are not "
                            "mapped to the GPU");
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    if (barrierBefore)
      barrier(b, loc);
    mstream::IterationSpace space = mstream::iterationSpace(b, loop);
    auto points = scf::ForOp::create(b, loc, thread, space.total, threads);
    OpBuilder nb = OpBuilder::atBlockBegin(points.getBody());
    mstream::clonePoint(nb, loop, space, points.getInductionVar());
    b.setInsertionPointAfter(points);
    barrier(b, loc);
    loop.erase();
    return success();
  }
};

struct DistributeTokenLoopsPass
    : mstream::impl::DistributeTokenLoopsBase<DistributeTokenLoopsPass> {
  using DistributeTokenLoopsBase::DistributeTokenLoopsBase;

  void runOnOperation() override {
    for (scf::ForallOp loop : mstream::tokenLoops(getOperation()))
      if (failed(distribute(loop)))
        return signalPassFailure();
  }

  LogicalResult distribute(scf::ForallOp loop) {
    if (!loop.getOutputs().empty() ||
        !loop.getTerminator().getYieldingOps().empty())
      return loop.emitError("expected a bufferized token loop");
    WalkResult calls = loop.getBody()->walk([](func::CallOp call) {
      call.emitError("a token loop cannot call '")
          << call.getCallee() << "' on the GPU";
      return WalkResult::interrupt();
    });
    if (calls.wasInterrupted())
      return failure();
    WalkResult buffers = loop.getBody()->walk([&](Operation *op) {
      if (!isa<memref::AllocOp, memref::AllocaOp>(op) ||
          isBlockBuffer(op, loop))
        return WalkResult::advance();
      op->emitError(
          "a token loop's buffers must be placed in its scratch "
          "buffer (mstream-token-buffers-to-scratch), not one per thread");
      return WalkResult::interrupt();
    });
    if (buffers.wasInterrupted())
      return failure();
    SmallVector<memref::CopyOp> copies;
    loop.getBody()->walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies)
      mstream::copyToParallelLoop(copy);

    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto tokens = scf::ParallelOp::create(
        b, loc,
        getValueOrCreateConstantIndexOp(b, loc, loop.getMixedLowerBound()),
        getValueOrCreateConstantIndexOp(b, loc, loop.getMixedUpperBound()),
        getValueOrCreateConstantIndexOp(b, loc, loop.getMixedStep()));
    Attribute slots = loop->getAttr(mstream::kTokenSlotsAttrName);
    if (!slots)
      return loop.emitError(
                 "expected mstream-token-buffers-to-scratch to have run: no ")
             << mstream::kTokenSlotsAttrName;
    tokens->setAttr(mstream::kTokenSlotsAttrName, slots);
    Block *body = tokens.getBody();
    for (auto [from, to] :
         llvm::zip(loop.getInductionVars(), tokens.getInductionVars()))
      from.replaceAllUsesWith(to);
    body->getOperations().splice(
        body->getTerminator()->getIterator(), loop.getBody()->getOperations(),
        loop.getBody()->begin(), loop.getTerminator()->getIterator());
    loop.erase();

    b.setInsertionPointToStart(body);
    BlockDistributor distributor;
    distributor.oneThread = oneThread;
    if (oneThread) {
      distributor.thread = arith::ConstantIndexOp::create(b, loc, 0);
      distributor.threads = arith::ConstantIndexOp::create(b, loc, 1);
    } else {
      distributor.thread = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
      distributor.threads = gpu::BlockDimOp::create(b, loc, gpu::Dimension::x);
    }
    return distributor.distribute(*body);
  }
};

} // namespace
