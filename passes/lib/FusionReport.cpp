//===- FusionReport.cpp - what each fused kernel moves per token ----------===//

#include "mstream/Dialect/MStreamOps.h"
#include "mstream/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mstream;

namespace {

/// Bytes of `value` that belong to one token, or 0 for a shared value. In a
/// region body per-token values have a unit size in every token dimension.
int64_t tokenBytes(Value value, size_t tokenDims, bool inBody) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() ||
      type.getRank() < static_cast<int64_t>(tokenDims))
    return 0;
  int64_t elements = 1;
  for (auto [i, size] : llvm::enumerate(type.getShape())) {
    if (i < tokenDims) {
      if (inBody && size != 1)
        return 0;
      continue;
    }
    elements *= size;
  }
  return elements * type.getElementTypeBitWidth() / 8;
}

/// What the region's ops would move as separate kernels: each mstream op
/// and each linalg op reads its per-token operands and writes its per-token
/// results once.
int64_t unfusedBytes(FusedOp op, int64_t &kernels) {
  size_t dims = op.getTokens().size();
  int64_t bytes = 0;
  kernels = 0;
  op.getBody().walk([&](Operation *nested) {
    if (!isa<MStreamDialect>(nested->getDialect()) &&
        !isa<linalg::LinalgOp>(nested))
      return;
    if (isa<YieldOp>(nested))
      return;
    ++kernels;
    for (Value v : nested->getOperands())
      bytes += tokenBytes(v, dims, true);
    for (Value v : nested->getResults())
      bytes += tokenBytes(v, dims, true);
  });
  return bytes;
}

} // namespace

void mstream::printFusionReport(ModuleOp module, llvm::raw_ostream &os) {
  for (auto func : module.getOps<func::FuncOp>()) {
    SmallVector<FusedOp> regions;
    func.walk([&](FusedOp op) { regions.push_back(op); });
    if (regions.empty())
      continue;
    os << "fusion report: @" << func.getSymName() << ", " << regions.size()
       << " fused kernels (GEMMs, attention and the weight optimizers are "
          "not listed)\n";
    os << llvm::format("  %-28s %-10s %5s %12s %12s %14s\n", "kernel", "tokens",
                       "ops", "read B/tok", "write B/tok", "unfused B/tok");
    int64_t fusedTotal = 0, unfusedTotal = 0;
    for (FusedOp op : regions) {
      size_t dims = op.getTokens().size();
      int64_t read = 0, written = 0, kernels = 0;
      for (auto [i, input] : llvm::enumerate(op.getInputs()))
        if (op.isPerTokenInput(i))
          read += tokenBytes(input, dims, false);
      for (auto [i, result] : llvm::enumerate(op.getResults()))
        if (op.isPerTokenResult(i))
          written += tokenBytes(result, dims, false);
      int64_t unfused = unfusedBytes(op, kernels);
      std::string tokens;
      for (auto [i, size] : llvm::enumerate(op.getTokens()))
        tokens += (i ? "x" : "") + std::to_string(size);
      os << llvm::format(
          "  %-28s %-10s %5lld %12lld %12lld %14lld\n",
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
