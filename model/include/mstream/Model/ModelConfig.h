//===- ModelConfig.h - a model definition ----------------------*- C++ -*-===//
//
// The hyper-parameters of one model, as in the reference constructors
// (docs/models.md; defaults are the paper's config). Free of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_MODEL_MODELCONFIG_H
#define MSTREAM_MODEL_MODELCONFIG_H

#include "mstream/Model/Variant.h"

#include <cstdint>
#include <string>

namespace mstream {

enum class VelInit { Embed, Zero };

struct ModelConfig {
  Variant variant = Variant::Tmm;
  int64_t vocabSize = 50304;
  int64_t maxSeqLen = 1024;
  int64_t dModel = 768;
  int64_t nLayers = 12;
  int64_t nHeads = 12;
  /// tmm only: learned velocity embeddings or v0 = 0 ("TMM-zerovel").
  VelInit velInit = VelInit::Embed;
  /// muon and ortho: Newton-Schulz iterations of the update.
  int64_t nsIters = 5;

  int64_t headDim() const { return dModel / nHeads; }
  int64_t mlpHidden() const { return 4 * dModel; }
  /// Whether the model carries a learned auxiliary embedding pair.
  bool hasAuxEmbedding() const;
};

} // namespace mstream

#endif // MSTREAM_MODEL_MODELCONFIG_H
