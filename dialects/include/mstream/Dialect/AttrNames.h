//===- AttrNames.h - argument marks of importer and passes ------*- C++ -*-===//
//
// The importer marks function arguments with what they are; the passes that
// build new entry points (autodiff, the train step) read the marks and mark
// their own arguments and results the same way, and the compiler driver
// turns them into the artifact's entry signatures.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_ATTRNAMES_H
#define MSTREAM_DIALECT_ATTRNAMES_H

#include "llvm/ADT/StringRef.h"

namespace mstream {

/// A parameter argument: its state_dict name.
inline constexpr llvm::StringLiteral kParamAttrName = "mstream.param";
/// A parameter's optimizer group: "scalar", "ln", "embedding" or "matrix".
inline constexpr llvm::StringLiteral kGroupAttrName = "mstream.group";
/// A data or hyper-parameter argument (tokens, targets, lr.matrix, ...).
inline constexpr llvm::StringLiteral kInputAttrName = "mstream.input";
/// An optimizer state argument or result: "<param>.exp_avg" etc.
inline constexpr llvm::StringLiteral kStateAttrName = "mstream.state";
/// A result that is not a parameter or state: "loss", "grad_norm".
inline constexpr llvm::StringLiteral kOutputAttrName = "mstream.output";
/// A gradient result of loss_and_grads: the parameter's name.
inline constexpr llvm::StringLiteral kGradAttrName = "mstream.grad";
/// A function that runs a token loop over [its first, its second argument)
/// (mstream-outline-loop-nests); its calls become parallel-for dispatches.
inline constexpr llvm::StringLiteral kTokenRangeAttrName =
    "mstream.token_range";
/// On a token loop (mstream-token-buffers-to-scratch): how many tokens may run
/// at once, each in its own slot of the loop's scratch buffer. The GPU kernel
/// that runs the loop has this many blocks.
inline constexpr llvm::StringLiteral kTokenSlotsAttrName =
    "mstream.token_slots";
/// On a linalg.matmul / batch_matmul: one of the oracles' products (the
/// attention and MLP projections, attention's two products, the tied head,
/// and their gradients), which the precision policy may run in bf16
/// (mstream-apply-precision). Products without it (the per-token matrix
/// iterations, the weight optimizer's) always run in f32.
inline constexpr llvm::StringLiteral kOracleProductAttrName =
    "mstream.oracle_product";

} // namespace mstream

#endif // MSTREAM_DIALECT_ATTRNAMES_H
