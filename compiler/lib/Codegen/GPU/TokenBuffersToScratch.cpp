//===- TokenBuffersToScratch.cpp - token buffers in scratch ---------------===//
//
// A GPU kernel cannot allocate. The buffers a token loop's body allocates
// (a token's intermediates, fresh ones in every matrix iteration) get fixed
// places in one scratch buffer instead: each slot holds one token's
// allocations, each allocation in a loop one copy per iteration, so nothing
// a token computes is overwritten while it is still read. Buffers whose
// lifetimes do not overlap share bytes: a token's intermediates are mostly
// short-lived (a row reduction's partials), and the slot's size decides
// whether it fits in shared memory.
//
//===----------------------------------------------------------------------===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"
#include "mstream/Dialect/AttrNames.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "llvm/Support/MathExtras.h"

namespace mstream {
#define GEN_PASS_DEF_TOKENBUFFERSTOSCRATCH
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// Offsets in the scratch buffer stay 16-byte vector aligned.
constexpr int64_t kAlignment = 64;

struct Placement {
  memref::AllocOp alloc;
  int64_t offset; // bytes from the slot's start
  int64_t bytes;  // of one copy
  int64_t copies;
  /// The loops around it inside the token loop, outer first.
  SmallVector<scf::ForOp> loops;
  /// The positions in the token's body of the ops between which it is
  /// live: the one that allocates it (or the loop around that) and the
  /// last that uses it.
  int64_t first, last;

  int64_t size() const { return bytes * copies; }
};

/// The position in `body` of the last op that uses `memref`, through
/// views; `std::numeric_limits<int64_t>::max()` where the buffer may
/// escape them (a loop carries it, a branch yields it, an op returns it
/// under another name), so that it lives to the token's end.
int64_t lastUse(Value memref, Block *body,
                const llvm::DenseMap<Operation *, int64_t> &positions) {
  int64_t last = 0;
  bool contained = mstream::allUsesThroughViews(memref, [&](Operation *user) {
    if (user->hasTrait<OpTrait::IsTerminator>() ||
        llvm::any_of(user->getResultTypes(),
                     [](Type type) { return isa<BaseMemRefType>(type); }))
      return false;
    last = std::max(last, positions.lookup(body->findAncestorOpInBlock(*user)));
    return true;
  });
  return contained ? last : std::numeric_limits<int64_t>::max();
}

/// Offsets in a slot for `placements`, greedily by size: each at the lowest
/// offset free throughout its lifetime. Returns the slot's size.
int64_t pack(MutableArrayRef<Placement> placements) {
  SmallVector<Placement *> bySize;
  for (Placement &placement : placements)
    bySize.push_back(&placement);
  llvm::stable_sort(bySize, [](const Placement *a, const Placement *b) {
    return a->size() > b->size();
  });
  int64_t slotBytes = 0;
  SmallVector<Placement *> placed;
  for (Placement *placement : bySize) {
    SmallVector<Placement *> live;
    for (Placement *other : placed)
      if (other->first <= placement->last && placement->first <= other->last)
        live.push_back(other);
    llvm::sort(live, [](const Placement *a, const Placement *b) {
      return a->offset < b->offset;
    });
    int64_t offset = 0;
    for (Placement *other : live) {
      if (offset + placement->size() <= other->offset)
        break;
      offset = std::max(offset, other->offset + other->size());
    }
    placement->offset = offset;
    slotBytes = std::max(slotBytes, offset + placement->size());
    placed.push_back(placement);
  }
  return slotBytes;
}

/// The static trip count of `loop`, if it has one (then its bounds and
/// step are constants).
std::optional<int64_t> tripCount(scf::ForOp loop) {
  std::optional<APInt> trips = loop.getStaticTripCount();
  if (!trips)
    return std::nullopt;
  return trips->getSExtValue();
}

struct TokenBuffersToScratchPass
    : mstream::impl::TokenBuffersToScratchBase<TokenBuffersToScratchPass> {
  using TokenBuffersToScratchBase::TokenBuffersToScratchBase;

  void runOnOperation() override {
    for (scf::ForallOp loop : mstream::tokenLoops(getOperation()))
      if (failed(place(loop)))
        return signalPassFailure();
  }

  LogicalResult place(scf::ForallOp loop) {
    ArrayRef<int64_t> bounds = loop.getStaticUpperBound();
    if (loop.getRank() != 1 || ShapedType::isDynamic(bounds[0]) ||
        !loop.isNormalized())
      return loop.emitError("expected a normalized one-dimensional token loop "
                            "with a static token count");
    int64_t tokens = bounds[0];

    Block *body = loop.getBody();
    llvm::DenseMap<Operation *, int64_t> positions;
    for (Operation &op : *body)
      positions[&op] = positions.size();
    SmallVector<Placement> placements;
    WalkResult walk = loop.getBody()->walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat()) {
        alloc.emitError("a token loop can only allocate statically shaped "
                        "buffers of numbers, not ")
            << type;
        return WalkResult::interrupt();
      }
      Operation *top = body->findAncestorOpInBlock(*alloc);
      Placement placement{alloc, 0, 0, 1, {}, positions.lookup(top), 0};
      placement.last = std::max(placement.first,
                                lastUse(alloc.getResult(), body, positions));
      placement.bytes =
          llvm::alignTo(type.getNumElements() *
                            llvm::divideCeil(type.getElementTypeBitWidth(), 8),
                        kAlignment);
      for (Operation *parent = alloc->getParentOp(); parent != loop;
           parent = parent->getParentOp()) {
        if (isa<scf::IfOp>(parent))
          continue;
        auto inner = dyn_cast<scf::ForOp>(parent);
        std::optional<int64_t> trips = inner ? tripCount(inner) : std::nullopt;
        if (!trips) {
          InFlightDiagnostic diag = alloc.emitError(
              "a token loop can only allocate inside loops with a static trip "
              "count");
          diag.attachNote(parent->getLoc())
              << "inside this " << parent->getName();
          return WalkResult::interrupt();
        }
        placement.copies *= *trips;
        placement.loops.insert(placement.loops.begin(), inner);
      }
      // One that no later iteration can reach (no loop carries it, nothing
      // returns it) is dead by the end of its iteration: one copy serves
      // them all.
      if (placement.last != std::numeric_limits<int64_t>::max()) {
        placement.copies = 1;
        placement.loops.clear();
      }
      placements.push_back(std::move(placement));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    int64_t slotBytes = pack(placements);
    bool shared = slotBytes <= sharedBytes;
    // Fewer tokens at once where a token needs much global scratch (a
    // matrix iteration's gradient keeps every iteration's matrices).
    int64_t tokenSlots = std::min<int64_t>(tokens, slots);
    if (!shared && slotBytes > 0)
      tokenSlots = std::clamp<int64_t>(maxBytes / slotBytes, 1, tokenSlots);
    OpBuilder b(loop);
    loop->setAttr(mstream::kTokenSlotsAttrName,
                  b.getI64IntegerAttr(tokenSlots));
    if (placements.empty())
      return success();

    Location loc = loop.getLoc();
    // The slot's start in the scratch buffer; none in shared memory.
    Value scratch, slotBase;
    if (shared) {
      b.setInsertionPointToStart(loop.getBody());
      auto workgroup = gpu::AddressSpaceAttr::get(
          b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
      auto local = memref::AllocaOp::create(
          b, loc,
          MemRefType::get({slotBytes}, b.getI8Type(),
                          MemRefLayoutAttrInterface{}, workgroup),
          b.getI64IntegerAttr(kAlignment));
      scratch = memref::MemorySpaceCastOp::create(
          b, loc, MemRefType::get({slotBytes}, b.getI8Type()), local);
    } else {
      auto scratchType =
          MemRefType::get({tokenSlots * slotBytes}, b.getI8Type());
      scratch = memref::AllocOp::create(b, loc, scratchType);
      // Token t uses slot t mod slots: the kernel runs a token per block
      // with a grid of `slots` blocks, so no two live tokens share a slot.
      b.setInsertionPointToStart(loop.getBody());
      Value token = loop.getInductionVar(0);
      Value slot = arith::RemUIOp::create(
          b, loc, token, arith::ConstantIndexOp::create(b, loc, tokenSlots));
      slotBase = arith::MulIOp::create(
          b, loc, slot, arith::ConstantIndexOp::create(b, loc, slotBytes));
    }
    for (Placement &placement : placements) {
      OpBuilder ab(placement.alloc);
      Location allocLoc = placement.alloc.getLoc();
      auto index = [&](int64_t value) -> Value {
        return arith::ConstantIndexOp::create(ab, allocLoc, value);
      };
      // The copy of this iteration: the loops' iterations, outer first.
      Value iteration;
      for (scf::ForOp inner : placement.loops) {
        Value position = inner.getInductionVar();
        int64_t lower = *getConstantIntValue(inner.getLowerBound());
        int64_t step = *getConstantIntValue(inner.getStep());
        if (lower != 0)
          position =
              arith::SubIOp::create(ab, allocLoc, position, index(lower));
        if (step != 1)
          position =
              arith::DivUIOp::create(ab, allocLoc, position, index(step));
        iteration = iteration
                        ? arith::AddIOp::create(
                              ab, allocLoc,
                              arith::MulIOp::create(ab, allocLoc, iteration,
                                                    index(*tripCount(inner))),
                              position)
                        : position;
      }
      Value inSlot = index(placement.offset);
      if (iteration)
        inSlot =
            arith::AddIOp::create(ab, allocLoc,
                                  arith::MulIOp::create(ab, allocLoc, iteration,
                                                        index(placement.bytes)),
                                  inSlot);
      Value offset = slotBase
                         ? arith::AddIOp::create(ab, allocLoc, slotBase, inSlot)
                         : inSlot;
      auto view =
          memref::ViewOp::create(ab, allocLoc, placement.alloc.getType(),
                                 scratch, offset, ValueRange{});
      placement.alloc.replaceAllUsesWith(view.getResult());
      placement.alloc.erase();
    }
    return success();
  }
};

} // namespace
