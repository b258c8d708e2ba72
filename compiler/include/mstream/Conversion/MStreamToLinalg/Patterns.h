//===- LoweringPatterns.h - patterns of mstream-lower-to-linalg -*- C++ -*-===//

#ifndef MSTREAM_PASSES_LIB_LOWERINGPATTERNS_H
#define MSTREAM_PASSES_LIB_LOWERINGPATTERNS_H

#include "mlir/IR/PatternMatch.h"

namespace mstream {

/// embedding, layer_norm, attention, mlp, tied_head, cross_entropy.
void populateLowerModelOpsPatterns(mlir::RewritePatternSet &patterns);
/// newton_schulz, inv_sqrt, eye.
void populateLowerMatrixOpsPatterns(mlir::RewritePatternSet &patterns);
/// clip_by_global_norm, adamw_update, muon_update.
void populateLowerOptimizerOpsPatterns(mlir::RewritePatternSet &patterns);
/// The step ops and lookahead, into stream math plus the ops above.
void populateLowerStepOpsPatterns(mlir::RewritePatternSet &patterns);

} // namespace mstream

#endif // MSTREAM_PASSES_LIB_LOWERINGPATTERNS_H
