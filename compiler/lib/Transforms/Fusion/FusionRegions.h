//===- FusionRegions.h - building mstream.fused regions ---------*- C++ -*-===//

#ifndef MSTREAM_PASSES_LIB_FUSIONREGIONS_H
#define MSTREAM_PASSES_LIB_FUSIONREGIONS_H

#include "mstream/Dialect/MStreamOps.h"

#include <string>

namespace mstream {

/// The token dimensions `[batch, seq]` of a model stream `[batch, seq, ...]`.
llvm::ArrayRef<int64_t> streamTokens(mlir::Value stream);

/// The region name for `anchor`: its NameLoc (`layers.3.attn`), else its
/// op name.
std::string regionName(mlir::Operation *anchor);

/// Moves `group` (ops of one block, in program order; earlier fused regions
/// among them are inlined) into one mstream.fused region named `name`,
/// placed after the group's last op. Values defined outside become inputs,
/// per token where they start with `tokens`; values used outside become
/// results. Fails, changing nothing, when a value the group defines is used
/// before the group's last op outside the group.
mlir::FailureOr<FusedOp> fuseIntoRegion(llvm::ArrayRef<mlir::Operation *> group,
                                        llvm::StringRef name,
                                        llvm::ArrayRef<int64_t> tokens);

} // namespace mstream

#endif // MSTREAM_PASSES_LIB_FUSIONREGIONS_H
