//===- ModelDefinition.h - the compiler as a library, no MLIR -*- C++ -*-===//
//
// What embedders (the Python module) call: parse a model definition,
// print its IR at a phase, compile it to artifact bytes. Errors are
// absl::Status values carrying the compiler's located messages
// ("file:line:col: error: ... [layers.3.mlp]").
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_FRONTEND_MODELDEFINITION_H
#define MSTREAM_FRONTEND_MODELDEFINITION_H

#include "mstream/Frontend/ConfigParser.h"
#include "mstream/Model/CompileRequest.h"
#include "mstream/Model/ParamTable.h"

#include "absl/status/statusor.h"

#include <string>
#include <vector>

namespace mstream {

class ModelDefinition {
public:
  /// Parses a JSON definition; `source` names it in messages.
  static absl::StatusOr<ModelDefinition> parse(std::string text,
                                               std::string source);

  const ModelConfig &config() const { return parsed_.config; }
  const std::string &text() const { return text_; }
  std::vector<ParamSpec> params() const {
    return buildParamTable(parsed_.config);
  }

  /// The IR names of `ir()`, in pipeline order.
  static std::vector<std::string> phases();
  /// The module at `phase`: "imported" (mstream dialect), "fused" (with
  /// per-token mstream.fused regions), "training" (with loss_and_grads and
  /// train_step), "lowered" (LLVM dialect after the target's pipeline) or
  /// "llvm" (optimised LLVM IR).
  absl::StatusOr<std::string> ir(const std::string &phase,
                                 const CompileRequest &request) const;
  /// Artifact bytes (runtime/Artifact.h).
  absl::StatusOr<std::string> compile(const CompileRequest &request) const;

private:
  ModelDefinition(std::string text, ParsedConfig parsed)
      : text_(std::move(text)), parsed_(std::move(parsed)) {}
  std::string text_;
  ParsedConfig parsed_;
};

} // namespace mstream

#endif // MSTREAM_FRONTEND_MODELDEFINITION_H
