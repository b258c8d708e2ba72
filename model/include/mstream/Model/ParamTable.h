//===- ParamTable.h - the parameters of a model ----------------*- C++ -*-===//
//
// Every parameter of a model under its PyTorch state_dict name, in
// state_dict order, with its shape, initialisation rule (docs/models.md) and
// optimizer group (docs/training.md). Free of MLIR: the importer turns it into
// function arguments and the runtime initialises and checkpoints from it.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_MODEL_PARAMTABLE_H
#define MSTREAM_MODEL_PARAMTABLE_H

#include "mstream/Model/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mstream {

enum class InitRule {
  /// N(0, std^2).
  Normal,
  /// Every element equals `value` (LN gains: 1; raw scalars: their init).
  Constant,
};

/// The paper's optimizer routing, tried in this order on the name:
/// "_raw" -> scalar, "ln" -> LayerNorm gain, "emb" -> embedding,
/// any other 2-D tensor -> matrix (Muon).
enum class ParamGroup { Scalar, LayerNormGain, Embedding, Matrix };

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  InitRule init;
  /// std for Normal, the value for Constant.
  double initValue;
  ParamGroup group;

  int64_t numElements() const;
};

/// The parameters of `config` in state_dict order.
std::vector<ParamSpec> buildParamTable(const ModelConfig &config);

/// The group the paper's optimizer routing gives a parameter.
ParamGroup classifyParam(const std::string &name, size_t rank);

/// "scalar", "ln", "embedding" or "matrix".
const char *paramGroupName(ParamGroup group);
/// Sum of numElements over the table.
int64_t countParameters(const std::vector<ParamSpec> &table);

} // namespace mstream

#endif // MSTREAM_MODEL_PARAMTABLE_H
