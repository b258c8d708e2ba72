//===- ParallelLoops.h - scf.parallel helpers for GPU mapping ---*- C++ -*-===//
//
// Shared by the passes that map parallel loops onto GPU threads
// (mstream-loops-to-gpu, mstream-distribute-token-loops,
// mstream-wrap-serial-runs).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_PARALLELLOOPS_H
#define MSTREAM_PASSES_PARALLELLOOPS_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mstream {

/// Replaces `copy` by an elementwise scf.parallel nest (a load and a store
/// for a 0-d buffer): kernels copy element by element, where memref.copy
/// would call the host's memrefCopy or memcpy.
void copyToParallelLoop(mlir::memref::CopyOp copy);

/// The number of iterations of each of `loop`'s dimensions, and their
/// product, computed at the builder's point.
struct IterationSpace {
  llvm::SmallVector<mlir::Value> counts;
  mlir::Value total;
};
IterationSpace iterationSpace(mlir::OpBuilder &b, mlir::scf::ParallelOp loop);

/// Clones `loop`'s body at the builder's point for the iteration `linear`
/// (row-major over `space`, so the innermost dimension varies fastest and
/// neighbouring threads touch neighbouring elements).
void clonePoint(mlir::OpBuilder &b, mlir::scf::ParallelOp loop,
                const IterationSpace &space, mlir::Value linear);

/// The bytes of one element of `type` (or of its elements): index is 8,
/// anything narrower than a byte takes one.
int64_t elementBytes(mlir::Type type);

/// The bytes of a statically shaped memref, 0 for anything else.
int64_t memrefBytes(mlir::Type type);

/// Operations that must stay on the host: they allocate, call the runtime
/// or launch work themselves.
bool isHostOnly(mlir::Operation *op);

/// Buffers of i1 and index hold the deallocation pipeline's ownership
/// bookkeeping about pointers: host data, on the host stack.
bool isHostMetadata(mlir::Type type);

/// A device access, or a region (loop, branch) of them with nothing
/// host-only inside: code that reads or writes device memory.
bool touchesDeviceMemory(mlir::Operation *op);

/// Whether mstream-loops-to-gpu clones `op` into a kernel that reads its
/// result, rather than passing the result: loads (the host cannot read
/// device memory) and pure, region-free, non-constant ops (views, index
/// arithmetic). Constants are sunk later, by
/// gpu-launch-sink-index-computations.
bool isSunkIntoKernels(mlir::Operation *op);

/// Adds to `parameters` the values a kernel that reads `value` takes as
/// parameters once the sinking above has run: `value` itself, or, where it
/// is sunk, what it is computed from; nothing for a constant.
void kernelParameters(mlir::Value value,
                      llvm::SetVector<mlir::Value> &parameters);

/// The bytes a kernel parameter takes: a memref is its descriptor (two
/// pointers, the offset, sizes and strides), anything else one 8-byte word
/// at most.
int64_t parameterBytes(mlir::Value value);

/// The buffer `memref` views, through any chain of views.
mlir::Value viewedBuffer(mlir::Value memref);

/// Calls `visit` on each op that uses `memref` or a view of it (through any
/// chain of views), other than the views themselves; stops and returns
/// false as soon as `visit` does.
bool allUsesThroughViews(mlir::Value memref,
                         llvm::function_ref<bool(mlir::Operation *)> visit);

/// The buffer `memref` views where that is an allocation or an entry-point
/// argument, which no other such buffer aliases; null otherwise (a buffer
/// an enclosing loop carries may be its initial value under another name).
mlir::Value distinctBuffer(mlir::Value memref);

/// Whether `op` allocates a buffer in a block's shared memory (a token's
/// buffers, mstream-token-buffers-to-scratch): the block's threads share it.
bool isWorkgroupAlloca(mlir::Operation *op);

/// The outermost scf.forall ops under `root`, in order: the token loops of
/// fused regions (mstream-fused-to-loops).
llvm::SmallVector<mlir::scf::ForallOp> tokenLoops(mlir::Operation *root);

} // namespace mstream

#endif // MSTREAM_PASSES_PARALLELLOOPS_H
