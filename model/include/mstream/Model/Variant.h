//===- Variant.h - the eleven optimizer-inspired model variants -*- C++ -*-===//
//
// What distinguishes one variant from another, as data: the auxiliary
// streams it carries, its extra LayerNorms and its learned raw scalars
// (docs/models.md, names from the reference state_dict). Free of MLIR so the
// runtime can share it.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_MODEL_VARIANT_H
#define MSTREAM_MODEL_VARIANT_H

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mstream {

enum class Variant {
  Vanilla,
  HeavyBall,
  Yurii,
  Tmm,
  Adam,
  AdamW,
  RmsProp,
  Muon,
  Ortho,
  Shampoo,
  Soap,
};

/// A learned raw scalar of one substep, e.g. {"nu", 0.5413248, false}.
struct RawScalar {
  std::string_view name;
  double init;
  /// AdamW's lambda is stored as a 0-d tensor; every other scalar as [1].
  bool zeroDim;
};

struct VariantInfo {
  Variant variant;
  /// The config spelling ("tmm") and the reference class ("TMMFormer").
  std::string_view name;
  std::string_view className;
  /// Prefix of the auxiliary embedding pair ("vel_", "m_"), empty if none.
  std::string_view auxEmbeddingPrefix;
  /// Prefix of the two extra LayerNorms ("ln_v", "ln_update"), empty if none.
  std::string_view extraLnPrefix;
  /// Raw scalars of one substep, in state_dict order.
  std::vector<RawScalar> scalars;
  /// Whether the step reshapes streams to one heads x head_dim matrix per
  /// token (muon, ortho, shampoo, soap).
  bool usesHeadMatrices;
  /// Whether the scheme carries the Dh x Dh right preconditioner stream.
  bool carriesPreconditioner;
};

/// All variants, in the order of docs/models.md.
const std::vector<VariantInfo> &allVariants();
const VariantInfo &getVariantInfo(Variant variant);
std::optional<Variant> parseVariant(std::string_view name);

} // namespace mstream

#endif // MSTREAM_MODEL_VARIANT_H
