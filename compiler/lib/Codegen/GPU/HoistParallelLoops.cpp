//===- HoistParallelLoops.cpp - the mstream-hoist-parallel-loops pass -----===//

#include "ParallelLoops.h"

#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mstream {
#define GEN_PASS_DEF_HOISTPARALLELLOOPS
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

/// A load's or a store's buffer and indices.
struct Access {
  Value memref;
  ValueRange indices;
  bool store;
};

bool definedIn(Value value, scf::ForOp loop) {
  return loop->isAncestor(value.getParentRegion()->getParentOp());
}

/// Where an access touches its root buffer along one dimension: at
/// `offset + index` with `index` the parallel loop's induction variable.
/// Accesses with equal witnesses touch distinct elements in distinct
/// parallel iterations.
struct Witness {
  Value root;
  unsigned dim;
  OpFoldResult offset;
  bool operator==(const Witness &other) const {
    return root == other.root && dim == other.dim &&
           isEqualConstantIntOrValue(offset, other.offset);
  }
};

/// The witness of `access` to the buffer `root`, or nothing: the induction
/// variable `iv` must index a dimension of the buffer itself, or of a
/// unit-stride subview of it whose offset in that dimension is defined
/// outside `loop`.
std::optional<Witness> witnessOf(const Access &access, Value root, Value iv,
                                 scf::ForOp loop) {
  ValueRange indices = access.indices;
  auto position = llvm::find(indices, iv);
  if (position == indices.end() || llvm::count(indices, iv) != 1)
    return std::nullopt;
  unsigned index = position - indices.begin();
  if (access.memref == root)
    return Witness{root, index, Builder(loop).getIndexAttr(0)};
  auto subview = access.memref.getDefiningOp<memref::SubViewOp>();
  if (!subview || subview.getSource() != root)
    return std::nullopt;
  // Result dimension `index` is the source's dimension `dim`, counting the
  // dimensions a rank-reducing subview drops.
  llvm::SmallBitVector dropped = subview.getDroppedDims();
  unsigned dim = 0;
  for (unsigned kept = 0;; ++dim)
    if (!dropped.test(dim) && kept++ == index)
      break;
  std::optional<int64_t> stride =
      getConstantIntValue(subview.getMixedStrides()[dim]);
  OpFoldResult offset = subview.getMixedOffsets()[dim];
  auto value = dyn_cast<Value>(offset);
  if (stride != 1 || (value && definedIn(value, loop)))
    return std::nullopt;
  return Witness{subview.getSource(), dim, offset};
}

/// Whether `loop` can run inside its body's parallel loop: the body is
/// reads and pure ops, then one 1-d scf.parallel without reductions whose
/// bounds are defined outside `loop`; in it, only loads, stores and pure
/// ops; every access to a buffer the nest writes has one and the same
/// witness per buffer.
scf::ParallelOp hoistable(scf::ForOp loop) {
  if (loop.getNumResults() != 0 || loop->getParentOfType<scf::ForallOp>() ||
      loop->getParentOfType<scf::ParallelOp>())
    return nullptr;
  Block *body = loop.getBody();
  auto parallel =
      dyn_cast<scf::ParallelOp>(body->getTerminator()->getPrevNode());
  if (!parallel || parallel.getNumLoops() != 1 || parallel.getNumResults() != 0)
    return nullptr;
  for (Value bound : parallel->getOperands())
    if (definedIn(bound, loop))
      return nullptr;

  SmallVector<Access> reads;
  for (Operation &op : body->without_terminator()) {
    if (&op == parallel.getOperation())
      break;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      reads.push_back({load.getMemref(), load.getIndices(), false});
    else if (!isMemoryEffectFree(&op))
      return nullptr;
  }
  SmallVector<Access> inner;
  WalkResult walk = parallel.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      inner.push_back({load.getMemref(), load.getIndices(), false});
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      inner.push_back({store.getMemref(), store.getIndices(), true});
    else if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
             !isMemoryEffectFree(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return nullptr;
  for (const Access &access : llvm::concat<const Access>(reads, inner))
    if (!mstream::distinctBuffer(access.memref))
      return nullptr;

  llvm::SmallDenseSet<Value> written;
  for (const Access &access : inner)
    if (access.store)
      written.insert(mstream::distinctBuffer(access.memref));
  // Reads before the parallel loop run once per position: none of them may
  // read what it writes.
  for (const Access &access : reads)
    if (written.contains(mstream::distinctBuffer(access.memref)))
      return nullptr;
  Value iv = parallel.getInductionVars()[0];
  llvm::SmallDenseMap<Value, Witness> witnesses;
  for (const Access &access : inner) {
    Value root = mstream::distinctBuffer(access.memref);
    if (!written.contains(root))
      continue;
    std::optional<Witness> witness = witnessOf(access, root, iv, loop);
    if (!witness)
      return nullptr;
    auto [it, inserted] = witnesses.try_emplace(root, *witness);
    if (!inserted && !(it->second == *witness))
      return nullptr;
  }
  return parallel;
}

/// scf.for { reads; scf.parallel { body } } becomes
/// scf.parallel { scf.for { reads; body } }.
void hoist(scf::ForOp loop, scf::ParallelOp parallel) {
  OpBuilder b(loop);
  auto outer =
      scf::ParallelOp::create(b, parallel.getLoc(), parallel.getLowerBound(),
                              parallel.getUpperBound(), parallel.getStep());
  b.setInsertionPointToStart(outer.getBody());
  auto sequential = scf::ForOp::create(b, loop.getLoc(), loop.getLowerBound(),
                                       loop.getUpperBound(), loop.getStep());
  b.setInsertionPointToStart(sequential.getBody());
  IRMapping map;
  map.map(loop.getInductionVar(), sequential.getInductionVar());
  map.map(parallel.getInductionVars()[0], outer.getInductionVars()[0]);
  for (Operation &op : loop.getBody()->without_terminator())
    if (&op != parallel.getOperation())
      b.clone(op, map);
  for (Operation &op : parallel.getBody()->without_terminator())
    b.clone(op, map);
  loop.erase();
}

struct HoistParallelLoopsPass
    : mstream::impl::HoistParallelLoopsBase<HoistParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<scf::ForOp, scf::ParallelOp>> nests;
    getOperation().walk([&](scf::ForOp loop) {
      if (scf::ParallelOp parallel = hoistable(loop))
        nests.emplace_back(loop, parallel);
    });
    for (auto [loop, parallel] : nests)
      hoist(loop, parallel);
  }
};

} // namespace
