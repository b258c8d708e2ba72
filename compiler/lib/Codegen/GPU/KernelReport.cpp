//===- KernelReport.cpp - the mstream-kernel-report pass ------------------===//

#include "ParallelLoops.h"
#include "mstream/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mstream {
#define GEN_PASS_DEF_KERNELREPORT
#include "mstream/Codegen/GPU/Passes.h.inc"
} // namespace mstream

using namespace mlir;

namespace {

int64_t constantOr(Value value, int64_t fallback) {
  return getConstantIntValue(value).value_or(fallback);
}

/// What one thread of a kernel does: FLOPs and element accesses per
/// argument.
struct ThreadCost {
  double flops = 0;
  llvm::DenseMap<unsigned, double> reads, writes;

  void add(const ThreadCost &other, double times) {
    flops += other.flops * times;
    for (auto [arg, n] : other.reads)
      reads[arg] += n * times;
    for (auto [arg, n] : other.writes)
      writes[arg] += n * times;
  }
};

double flopsOf(Operation *op) {
  Type type = op->getNumResults() ? op->getResult(0).getType() : Type();
  if (!type || !isa<FloatType>(getElementTypeOrSelf(type)))
    return 0;
  double lanes = 1;
  if (auto vector = dyn_cast<VectorType>(type))
    lanes = vector.getNumElements();
  if (isa<math::FmaOp>(op))
    return 2 * lanes;
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
          arith::RemFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
          arith::MinNumFOp>(op) ||
      isa<math::MathDialect>(op->getDialect()))
    return lanes;
  return 0;
}

/// Per-thread cost of `region`, accesses keyed by the kernel argument each
/// buffer comes from (through views).
class KernelCoster {
public:
  explicit KernelCoster(gpu::GPUFuncOp kernel) {
    if (auto known = kernel.getKnownBlockSizeAttr())
      blockSize.assign(known.asArrayRef().begin(), known.asArrayRef().end());
    if (auto known = kernel.getKnownGridSizeAttr())
      gridSize.assign(known.asArrayRef().begin(), known.asArrayRef().end());
    // Not the workgroup buffers after them: shared memory is no traffic.
    for (BlockArgument arg :
         kernel.getArguments().take_front(kernel.getNumArguments()))
      root[arg] = arg.getArgNumber();
    kernel.walk([&](Operation *op) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
        auto found = root.find(view.getViewSource());
        if (found != root.end())
          root[view->getResult(0)] = found->second;
      }
    });
  }

  ThreadCost cost(Region &region) {
    ThreadCost total;
    for (Block &block : region)
      for (Operation &op : block)
        total.add(cost(&op), 1);
    return total;
  }

private:
  ThreadCost cost(Operation *op) {
    ThreadCost here;
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      // A bound that depends on the thread (a block-strided loop starts at
      // the thread's index) counts from 0: the trips of the average thread.
      int64_t lower = evaluate(loop.getLowerBound()).value_or(0);
      int64_t upper = evaluate(loop.getUpperBound()).value_or(lower + 1);
      int64_t step = std::max<int64_t>(1, evaluate(loop.getStep()).value_or(1));
      double trips = std::max<int64_t>(0, (upper - lower + step - 1) / step);
      here.add(cost(loop.getRegion()), trips);
      return here;
    }
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      ThreadCost then = cost(branch.getThenRegion());
      ThreadCost otherwise = cost(branch.getElseRegion());
      here.add(then.flops >= otherwise.flops ? then : otherwise, 1);
      return here;
    }
    here.flops = flopsOf(op);
    auto count = [&](Value memref, llvm::DenseMap<unsigned, double> &into) {
      auto found = root.find(memref);
      if (found != root.end())
        into[found->second] += 1;
    };
    if (auto load = dyn_cast<memref::LoadOp>(op))
      count(load.getMemRef(), here.reads);
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      count(store.getMemRef(), here.writes);
    else if (auto rmw = dyn_cast<memref::AtomicRMWOp>(op)) {
      count(rmw.getMemref(), here.reads);
      count(rmw.getMemref(), here.writes);
    }
    for (Region &region : op->getRegions())
      here.add(cost(region), 1);
    return here;
  }

  /// `value` where it is a constant, a block or grid size the kernel
  /// declares, or index arithmetic on those.
  std::optional<int64_t> evaluate(Value value) const {
    if (std::optional<int64_t> constant = getConstantIntValue(value))
      return constant;
    Operation *def = value.getDefiningOp();
    if (!def)
      return std::nullopt;
    auto dimension = [](gpu::Dimension d,
                        ArrayRef<int32_t> sizes) -> std::optional<int64_t> {
      auto index = static_cast<size_t>(d);
      if (index < sizes.size())
        return sizes[index];
      return std::nullopt;
    };
    if (auto dim = dyn_cast<gpu::BlockDimOp>(def))
      return dimension(dim.getDimension(), blockSize);
    if (auto dim = dyn_cast<gpu::GridDimOp>(def))
      return dimension(dim.getDimension(), gridSize);
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp>(def))
      return evaluate(def->getOperand(0));
    if (!isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(def))
      return std::nullopt;
    std::optional<int64_t> lhs = evaluate(def->getOperand(0));
    std::optional<int64_t> rhs = evaluate(def->getOperand(1));
    if (!lhs || !rhs)
      return std::nullopt;
    if (isa<arith::AddIOp>(def))
      return *lhs + *rhs;
    if (isa<arith::SubIOp>(def))
      return *lhs - *rhs;
    return *lhs * *rhs;
  }

  llvm::DenseMap<Value, unsigned> root;
  SmallVector<int32_t, 3> blockSize, gridSize;
};

struct KernelReportPass : mstream::impl::KernelReportBase<KernelReportPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(&getContext());
    SmallVector<Attribute> entries;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        if (DictionaryAttr entry = report(func, b))
          entries.push_back(entry);
    module->setAttr("mstream.kernel_report", b.getArrayAttr(entries));
  }

  DictionaryAttr report(func::FuncOp func, Builder &b) {
    SmallVector<Attribute> kernels, library;
    int64_t live = 0, maxLive = 0;
    std::function<void(Region &, int64_t)> visit = [&](Region &region,
                                                       int64_t times) {
      for (Block &block : region)
        for (Operation &op : block) {
          if (auto loop = dyn_cast<scf::ForOp>(&op)) {
            int64_t lower = constantOr(loop.getLowerBound(), 0);
            int64_t upper = constantOr(loop.getUpperBound(), lower + 1);
            int64_t step = std::max<int64_t>(1, constantOr(loop.getStep(), 1));
            visit(loop.getRegion(),
                  times *
                      std::max<int64_t>(0, (upper - lower + step - 1) / step));
            continue;
          }
          if (auto alloc = dyn_cast<memref::AllocOp>(&op)) {
            live += mstream::memrefBytes(alloc.getType());
            maxLive = std::max(maxLive, live);
          } else if (auto dealloc = dyn_cast<memref::DeallocOp>(&op)) {
            live -= mstream::memrefBytes(dealloc.getMemref().getType());
          } else if (auto launch = dyn_cast<gpu::LaunchFuncOp>(&op)) {
            kernels.push_back(describeLaunch(launch, times, b));
          } else if (auto call = dyn_cast<func::CallOp>(&op)) {
            if (call.getCallee().starts_with("mstream_cuda_"))
              library.push_back(describeGemm(call, times, b));
          }
          for (Region &nested : op.getRegions())
            visit(nested, times);
        }
    };
    visit(func.getBody(), 1);
    if (kernels.empty() && library.empty())
      return {};
    int64_t staged = 0, readback = 0, resident = 0;
    for (BlockArgument arg : func.getArguments()) {
      int64_t bytes = mstream::memrefBytes(arg.getType());
      auto memref = dyn_cast<MemRefType>(arg.getType());
      bool scalar = memref && memref.getRank() == 0;
      if (func.getArgAttr(arg.getArgNumber(), mstream::kInputAttrName) &&
          (scalar || getElementTypeOrSelf(arg.getType()).isInteger(32)))
        staged += bytes;
      else if (func.getArgAttr(arg.getArgNumber(), mstream::kOutputAttrName) &&
               scalar)
        readback += bytes;
      else
        resident += bytes;
    }
    return b.getDictionaryAttr({
        b.getNamedAttr("entry", b.getStringAttr(func.getSymName())),
        b.getNamedAttr("kernels", b.getArrayAttr(kernels)),
        b.getNamedAttr("library", b.getArrayAttr(library)),
        b.getNamedAttr("staged_bytes", b.getI64IntegerAttr(staged)),
        b.getNamedAttr("readback_bytes", b.getI64IntegerAttr(readback)),
        b.getNamedAttr("resident_bytes", b.getI64IntegerAttr(resident)),
        b.getNamedAttr("peak_bytes", b.getI64IntegerAttr(staged + readback +
                                                         resident + maxLive)),
    });
  }

  Attribute describeLaunch(gpu::LaunchFuncOp launch, int64_t times,
                           Builder &b) {
    SmallVector<int64_t> grid = {constantOr(launch.getGridSizeX(), 1),
                                 constantOr(launch.getGridSizeY(), 1),
                                 constantOr(launch.getGridSizeZ(), 1)};
    SmallVector<int64_t> block = {constantOr(launch.getBlockSizeX(), 1),
                                  constantOr(launch.getBlockSizeY(), 1),
                                  constantOr(launch.getBlockSizeZ(), 1)};
    double threads = 1;
    for (int64_t n : llvm::concat<int64_t>(grid, block))
      threads *= static_cast<double>(n);
    double flops = 0, read = 0, written = 0;
    auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        launch, launch.getKernel());
    if (kernel) {
      ThreadCost cost = KernelCoster(kernel).cost(kernel.getBody());
      flops = cost.flops * threads;
      ValueRange operands = launch.getKernelOperands();
      auto bytes = [&](const llvm::DenseMap<unsigned, double> &accesses) {
        double sum = 0;
        for (auto [arg, n] : accesses) {
          Type type = operands[arg].getType();
          sum += std::min(static_cast<double>(mstream::memrefBytes(type)),
                          n * threads * mstream::elementBytes(type));
        }
        return sum;
      };
      read = bytes(cost.reads);
      written = bytes(cost.writes);
    }
    return b.getDictionaryAttr({
        // The cubin's symbol: kernels share one module after the merge.
        b.getNamedAttr("kernel", launch.getKernelName()),
        b.getNamedAttr("launches", b.getI64IntegerAttr(times)),
        b.getNamedAttr("grid", b.getDenseI64ArrayAttr(grid)),
        b.getNamedAttr("block", b.getDenseI64ArrayAttr(block)),
        // Beyond the shared memory the cubin declares for the kernel.
        b.getNamedAttr(
            "dynamic_shared_bytes",
            b.getI64IntegerAttr(
                launch.getDynamicSharedMemorySize()
                    ? constantOr(launch.getDynamicSharedMemorySize(), 0)
                    : 0)),
        b.getNamedAttr("flops", b.getF64FloatAttr(flops)),
        b.getNamedAttr("read_bytes", b.getF64FloatAttr(read)),
        b.getNamedAttr("written_bytes", b.getF64FloatAttr(written)),
    });
  }

  /// mstream_cuda_sgemm and mstream_cuda_gemm_bf16 take (batch, transA,
  /// transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC,
  /// accumulate); a zero stride shares that operand across the batch.
  Attribute describeGemm(func::CallOp call, int64_t times, Builder &b) {
    auto arg = [&](unsigned i) {
      return call.getNumOperands() > i ? constantOr(call.getOperand(i), 0) : 0;
    };
    int64_t batch = arg(0), m = arg(3), n = arg(4), k = arg(5);
    int64_t operandBytes = call.getCallee().contains("bf16") ? 2 : 4;
    double aCopies = arg(8) ? batch : 1, bCopies = arg(11) ? batch : 1;
    double read = (aCopies * m * k + bCopies * k * n) * operandBytes +
                  (arg(15) ? 4.0 * batch * m * n : 0);
    return b.getDictionaryAttr({
        b.getNamedAttr("symbol", b.getStringAttr(call.getCallee())),
        b.getNamedAttr("calls", b.getI64IntegerAttr(times)),
        b.getNamedAttr("batch", b.getI64IntegerAttr(batch)),
        b.getNamedAttr("m", b.getI64IntegerAttr(m)),
        b.getNamedAttr("n", b.getI64IntegerAttr(n)),
        b.getNamedAttr("k", b.getI64IntegerAttr(k)),
        b.getNamedAttr("operand_bytes", b.getI64IntegerAttr(operandBytes)),
        b.getNamedAttr("flops", b.getF64FloatAttr(2.0 * batch * m * n * k)),
        b.getNamedAttr("read_bytes", b.getF64FloatAttr(read)),
        b.getNamedAttr("written_bytes", b.getF64FloatAttr(4.0 * batch * m * n)),
    });
  }
};

} // namespace
