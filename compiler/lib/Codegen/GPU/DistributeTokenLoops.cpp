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
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mstream {
#define GEN_PASS_DEF_DISTRIBUTETOKENLOOPS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

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
