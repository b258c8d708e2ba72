//===- BufferLifetime.h - where a buffer's last use is ----------*- C++ -*-===//
//
// Shared by the passes that shorten or move a buffer's lifetime
// (mstream-free-after-last-use, mstream-token-buffers-to-stack).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_PASSES_BUFFERLIFETIME_H
#define MSTREAM_PASSES_BUFFERLIFETIME_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mstream {

/// The op of `dealloc`'s block right after which the buffer it frees is no
/// longer used (null: nothing uses it), or failure when an alias of it may
/// outlive the block (reaches its terminator or is used outside it) or
/// another dealloc frees it. Derived values are followed conservatively:
/// every memref or pointer result of an op that uses the buffer (a view, a
/// loop that yields it, a call) counts as an alias, and a nested use counts
/// at its ancestor in the block.
mlir::FailureOr<mlir::Operation *>
lastUseInBlock(mlir::memref::DeallocOp dealloc);

} // namespace mstream

#endif // MSTREAM_PASSES_BUFFERLIFETIME_H
