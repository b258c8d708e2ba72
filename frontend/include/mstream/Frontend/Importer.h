//===- Importer.h - model definitions to mstream IR -------------*- C++ -*-===//

#ifndef MSTREAM_FRONTEND_IMPORTER_H
#define MSTREAM_FRONTEND_IMPORTER_H

#include "mstream/Dialect/AttrNames.h"
#include "mstream/Frontend/ConfigParser.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mstream {

/// The static shape of one step (one artifact per shape: shapes are static).
struct StepShape {
  int64_t batch = 1;
  /// 0 means the definition's max_seq_len.
  int64_t seq = 0;
};

/// The module attribute describing the model (argument marks: AttrNames.h).
inline constexpr llvm::StringLiteral kModelAttrName = "mstream.model";

/// Builds a module with `forward(tokens, params...) -> logits` and
/// `loss(tokens, targets, params...) -> loss`; parameters are arguments in
/// state_dict order carrying their names in `mstream.param` and their optimizer
/// group in `mstream.group`. Every op is located at the definition's "variant"
/// key, named by its module path (e.g. "layers.3.mlp"). Fails with a message if
/// the shape is invalid.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importModel(mlir::MLIRContext &context, const ParsedConfig &parsed,
            StepShape shape);

} // namespace mstream

#endif // MSTREAM_FRONTEND_IMPORTER_H
