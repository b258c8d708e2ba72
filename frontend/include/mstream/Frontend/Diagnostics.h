//===- Diagnostics.h - errors located in the definition ---------*- C++ -*-===//

#ifndef MSTREAM_FRONTEND_DIAGNOSTICS_H
#define MSTREAM_FRONTEND_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace mstream {

/// While alive, prints the context's diagnostics as
/// "file:line:col: error: message [layers.3.mlp]": the model definition's
/// position and the module path, however deeply passes nested the location
/// (inlining wraps it in call sites).
class ModelDiagnostics : public mlir::ScopedDiagnosticHandler {
public:
  /// Prints to `os` (default: stderr).
  explicit ModelDiagnostics(mlir::MLIRContext *context,
                            llvm::raw_ostream *os = nullptr);
};

} // namespace mstream

#endif // MSTREAM_FRONTEND_DIAGNOSTICS_H
