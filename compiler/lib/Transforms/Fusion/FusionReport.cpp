//===- FusionReport.cpp - what each fused kernel moves per token ----------===//

#include "mstream/Conversion/MStreamToLinalg/Patterns.h"

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Transforms/Fusion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mstream;

namespace {

/// Bytes of one token's slice of a fused op's input or result: the
/// elements of every dimension after the token dimensions.
int64_t tokenSliceBytes(Value value, size_t tokenDims) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.hasStaticShape())
    return 0;
  int64_t elements = 1;
  for (int64_t size : type.getShape().drop_front(tokenDims))
    elements *= size;
  return elements * type.getElementTypeBitWidth() / 8;
}

/// Bytes of a tensor in a region body, which computes one token: all of it.
int64_t bodyBytes(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return 0;
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

/// The values of `op`'s body that depend on a per-token input (the rest
/// derive from shared inputs alone: a gain, a learned scalar). Reshapes
/// keep a value per token, so the test is its origin, not its shape.
DenseSet<Value> perTokenValues(FusedOp op) {
  DenseSet<Value> perToken;
  for (auto [i, arg] : llvm::enumerate(op.getBody().getArguments()))
    if (op.isPerTokenInput(i))
      perToken.insert(arg);
  op.getBody().walk<WalkOrder::PreOrder>([&](Operation *nested) {
    if (llvm::none_of(nested->getOperands(),
                      [&](Value v) { return perToken.contains(v); }))
      return;
    perToken.insert(nested->result_begin(), nested->result_end());
    if (auto loop = dyn_cast<scf::ForOp>(nested))
      perToken.insert(loop.getRegionIterArgs().begin(),
                      loop.getRegionIterArgs().end());
  });
  return perToken;
}

/// How many times `op` runs per token: the product of the static trip
/// counts of the loops around it inside the region (Newton-Schulz iterates
/// in an scf.for).
int64_t runsPerToken(Operation *op, Operation *region) {
  int64_t runs = 1;
  for (Operation *parent = op->getParentOp(); parent && parent != region;
       parent = parent->getParentOp())
    if (auto loop = dyn_cast<scf::ForOp>(parent))
      if (std::optional<APInt> trips = loop.getStaticTripCount())
        runs *= trips->getSExtValue();
  return runs;
}

/// A fill that only initialises accumulators (of a product, a reduction)
/// is part of the kernels it initialises, as in an eager framework.
bool isAccumulatorFill(Operation *op) {
  if (!isa<linalg::FillOp>(op))
    return false;
  return llvm::all_of(op->getUses(), [](OpOperand &use) {
    auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
    return user && user.isDpsInit(&use);
  });
}

/// What the region's ops would move as separate kernels, at an eager
/// framework's granularity: a copy of the region has its step ops expanded
/// into their formulas and its matrix iterations into their products and
/// elementwise passes (each iteration separately); then each mstream op (a
/// LayerNorm stays one kernel) and each linalg op that touches per-token
/// data reads its per-token operands and writes its per-token results once.
/// `expansions` are the step-op and matrix-op lowering patterns.
int64_t unfusedBytes(FusedOp op, const FrozenRewritePatternSet &expansions,
                     int64_t &kernels) {
  OwningOpRef<FusedOp> copy(cast<FusedOp>(op->clone()));
  // The copy's ops are counted whatever the driver's outcome: an op it
  // could not expand moves what it moves as one kernel.
  (void)applyPatternsGreedily(copy->getBody(), expansions);

  DenseSet<Value> perToken = perTokenValues(*copy);
  int64_t bytes = 0;
  kernels = 0;
  copy->getBody().walk([&](Operation *nested) {
    if (!isa<MStreamDialect>(nested->getDialect()) &&
        !isa<linalg::LinalgOp>(nested))
      return;
    if (isa<YieldOp>(nested) || isAccumulatorFill(nested))
      return;
    int64_t moved = 0;
    for (Value v : nested->getOperands())
      moved += perToken.contains(v) ? bodyBytes(v) : 0;
    for (Value v : nested->getResults())
      moved += perToken.contains(v) ? bodyBytes(v) : 0;
    if (moved == 0)
      return;
    int64_t runs = runsPerToken(nested, *copy);
    kernels += runs;
    bytes += runs * moved;
  });
  return bytes;
}

} // namespace

void mstream::printFusionReport(ModuleOp module, llvm::raw_ostream &os) {
  RewritePatternSet patterns(module.getContext());
  populateLowerStepOpsPatterns(patterns);
  populateLowerMatrixOpsPatterns(patterns);
  FrozenRewritePatternSet expansions(std::move(patterns));
  for (auto func : module.getOps<func::FuncOp>()) {
    SmallVector<FusedOp> regions;
    func.walk([&](FusedOp op) { regions.push_back(op); });
    if (regions.empty())
      continue;
    os << "fusion report: @" << func.getSymName() << ", " << regions.size()
       << " fused kernels (GEMMs, attention and the weight optimizers are "
          "not listed)\n";
    os << llvm::format("  %-28s %-10s %8s %12s %12s %14s\n", "kernel", "tokens",
                       "replaces", "read B/tok", "write B/tok",
                       "unfused B/tok");
    int64_t fusedTotal = 0, unfusedTotal = 0;
    for (FusedOp op : regions) {
      size_t dims = op.getTokens().size();
      int64_t read = 0, written = 0, kernels = 0;
      for (auto [i, input] : llvm::enumerate(op.getInputs()))
        if (op.isPerTokenInput(i))
          read += tokenSliceBytes(input, dims);
      for (auto [i, result] : llvm::enumerate(op.getResults()))
        if (op.isPerTokenResult(i))
          written += tokenSliceBytes(result, dims);
      int64_t unfused = unfusedBytes(op, expansions, kernels);
      std::string tokens;
      for (auto [i, size] : llvm::enumerate(op.getTokens()))
        tokens += (i ? "x" : "") + std::to_string(size);
      os << llvm::format(
          "  %-28s %-10s %8lld %12lld %12lld %14lld\n",
          op.getName().str().c_str(), tokens.c_str(),
          static_cast<long long>(kernels), static_cast<long long>(read),
          static_cast<long long>(written), static_cast<long long>(unfused));
      fusedTotal += read + written;
      unfusedTotal += unfused;
    }
    os << llvm::format("  total: %lld bytes per token fused, %lld as separate "
                       "ops (%.1fx less memory traffic)\n",
                       static_cast<long long>(fusedTotal),
                       static_cast<long long>(unfusedTotal),
                       fusedTotal ? double(unfusedTotal) / fusedTotal : 0.0);
  }
}
