//===- ParallelLoops.cpp - scf.parallel helpers for GPU mapping -----------===//

#include "ParallelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

void mstream::copyToParallelLoop(memref::CopyOp copy) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  auto type = cast<MemRefType>(copy.getSource().getType());
  if (type.getRank() == 0) {
    Value value = memref::LoadOp::create(b, loc, copy.getSource());
    memref::StoreOp::create(b, loc, value, copy.getTarget());
    copy.erase();
    return;
  }
  SmallVector<Value> lower, upper, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t dim = 0; dim < type.getRank(); ++dim) {
    lower.push_back(zero);
    upper.push_back(memref::DimOp::create(b, loc, copy.getSource(), dim));
    steps.push_back(one);
  }
  scf::ParallelOp::create(
      b, loc, lower, upper, steps,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs) {
        Value value =
            memref::LoadOp::create(nested, nestedLoc, copy.getSource(), ivs);
        memref::StoreOp::create(nested, nestedLoc, value, copy.getTarget(),
                                ivs);
      });
  copy.erase();
}

mstream::IterationSpace mstream::iterationSpace(OpBuilder &b,
                                                scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  IterationSpace space;
  space.total = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value extent = arith::SubIOp::create(b, loc, upper, lower);
    space.counts.push_back(arith::CeilDivUIOp::create(b, loc, extent, step));
    space.total =
        arith::MulIOp::create(b, loc, space.total, space.counts.back());
  }
  return space;
}

void mstream::clonePoint(OpBuilder &b, scf::ParallelOp loop,
                         const IterationSpace &space, Value linear) {
  Location loc = loop.getLoc();
  IRMapping mapping;
  Value rest = linear;
  for (int64_t dim = int64_t(space.counts.size()) - 1; dim >= 0; --dim) {
    Value index = dim == 0
                      ? rest
                      : arith::RemUIOp::create(b, loc, rest, space.counts[dim])
                            .getResult();
    if (dim != 0)
      rest = arith::DivUIOp::create(b, loc, rest, space.counts[dim]);
    Value scaled = arith::MulIOp::create(b, loc, index, loop.getStep()[dim]);
    mapping.map(
        loop.getInductionVars()[dim],
        arith::AddIOp::create(b, loc, loop.getLowerBound()[dim], scaled));
  }
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
}

SmallVector<scf::ForallOp> mstream::tokenLoops(Operation *root) {
  SmallVector<scf::ForallOp> loops;
  root->walk([&](scf::ForallOp loop) {
    if (!loop->getParentOfType<scf::ForallOp>())
      loops.push_back(loop);
  });
  return loops;
}

bool mstream::isHostOnly(Operation *op) {
  return isa<func::CallOp, scf::ParallelOp, memref::AllocOp, memref::AllocaOp,
             memref::DeallocOp, memref::CopyOp, gpu::LaunchOp>(op);
}

bool mstream::isHostMetadata(Type type) {
  Type element = cast<MemRefType>(type).getElementType();
  return element.isInteger(1) || element.isIndex();
}

/// A load or store of device data.
static bool isDeviceAccess(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return !mstream::isHostMetadata(load.getMemRefType());
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return !mstream::isHostMetadata(store.getMemRefType());
  return false;
}

bool mstream::touchesDeviceMemory(Operation *op) {
  if (isDeviceAccess(op))
    return true;
  if (op->getNumRegions() == 0)
    return false;
  bool memory = false, hostOnly = false;
  op->walk([&](Operation *inner) {
    memory |= isDeviceAccess(inner);
    hostOnly |=
        isHostOnly(inner) ||
        (isa<memref::LoadOp, memref::StoreOp>(inner) && !isDeviceAccess(inner));
  });
  return memory && !hostOnly;
}

Value mstream::viewedBuffer(Value memref) {
  while (auto view = memref.getDefiningOp<ViewLikeOpInterface>())
    memref = view.getViewSource();
  return memref;
}

bool mstream::allUsesThroughViews(Value memref,
                                  function_ref<bool(Operation *)> visit) {
  SmallVector<Value> views = {memref};
  while (!views.empty()) {
    Value view = views.pop_back_val();
    for (Operation *user : view.getUsers()) {
      auto viewLike = dyn_cast<ViewLikeOpInterface>(user);
      if (viewLike && viewLike.getViewSource() == view)
        views.push_back(user->getResult(0));
      else if (!visit(user))
        return false;
    }
  }
  return true;
}

Value mstream::distinctBuffer(Value memref) {
  memref = viewedBuffer(memref);
  if (memref.getDefiningOp<memref::AllocOp>() ||
      memref.getDefiningOp<memref::AllocaOp>())
    return memref;
  auto argument = dyn_cast<BlockArgument>(memref);
  if (argument && isa<FunctionOpInterface>(argument.getOwner()->getParentOp()))
    return memref;
  return nullptr;
}

bool mstream::isWorkgroupAlloca(Operation *op) {
  auto alloca = dyn_cast<memref::AllocaOp>(op);
  return alloca &&
         gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(alloca.getType());
}

bool mstream::isSunkIntoKernels(Operation *op) {
  return isa<memref::LoadOp>(op) || (op->getNumRegions() == 0 && isPure(op) &&
                                     !op->hasTrait<OpTrait::ConstantLike>());
}

void mstream::kernelParameters(Value value,
                               llvm::SetVector<Value> &parameters) {
  // Each op once: index arithmetic shares its operands.
  llvm::SmallPtrSet<Operation *, 16> visited;
  SmallVector<Value> pending{value};
  while (!pending.empty()) {
    Value next = pending.pop_back_val();
    Operation *def = next.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>())
      continue;
    if (!def || !isSunkIntoKernels(def)) {
      parameters.insert(next);
      continue;
    }
    if (visited.insert(def).second)
      llvm::append_range(pending, def->getOperands());
  }
}

int64_t mstream::parameterBytes(Value value) {
  if (auto type = dyn_cast<MemRefType>(value.getType()))
    return 8 * (3 + 2 * type.getRank());
  return 8;
}

int64_t mstream::elementBytes(Type type) {
  Type element = getElementTypeOrSelf(type);
  if (element.isIndex())
    return 8;
  return std::max<int64_t>(1, element.getIntOrFloatBitWidth() / 8);
}

int64_t mstream::memrefBytes(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.hasStaticShape())
    return 0;
  return memref.getNumElements() * elementBytes(memref);
}
