//===- Facade.cpp - the compiler as a library, without MLIR types ---------===//

#include "mstream/Frontend/Facade.h"

#include "mstream/Frontend/Compiler.h"
#include "mstream/Frontend/Diagnostics.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mstream;

namespace {

/// The message of `error`, after what the diagnostics printed.
absl::Status failure(llvm::Error error, const std::string &diagnostics) {
  std::string message = llvm::toString(std::move(error));
  return absl::InvalidArgumentError(
      diagnostics.empty() ? message : diagnostics + message);
}

} // namespace

absl::StatusOr<ModelDefinition> ModelDefinition::parse(std::string text,
                                                       std::string source) {
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(text, source);
  if (!parsed)
    return failure(parsed.takeError(), "");
  return ModelDefinition(std::move(text), std::move(source), parsed->config);
}

std::vector<std::string> ModelDefinition::phases() {
  return {"imported", "training", "lowered", "llvm"};
}

absl::StatusOr<std::string>
ModelDefinition::ir(const std::string &phase,
                    const CompileRequest &request) const {
  std::vector<std::string> known = phases();
  auto position = std::find(known.begin(), known.end(), phase);
  if (position == known.end())
    return absl::InvalidArgumentError(
        "unknown IR phase '" + phase +
        "'; this mstream has: imported, training, lowered, llvm");
  size_t stage = position - known.begin();
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(text_, source_);
  if (!parsed)
    return failure(parsed.takeError(), "");
  mlir::MLIRContext context;
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ModelDiagnostics handler(&context, &os);
  auto module = importModel(context, *parsed, {request.batch, request.seq});
  if (!module)
    return failure(module.takeError(), diagnostics);
  // "training" shows the train step; later phases lower what `request`
  // asks for, as compile() would.
  if (stage == 1 || (stage > 1 && request.train)) {
    if (llvm::Error error = addTrainStep(**module, request.optimizer))
      return failure(std::move(error), diagnostics);
  } else if (stage > 1 && request.gradients) {
    if (llvm::Error error = addGradients(**module))
      return failure(std::move(error), diagnostics);
  }
  if (stage >= 2)
    if (llvm::Error error = lowerForCpu(**module))
      return failure(std::move(error), diagnostics);
  std::string text;
  llvm::raw_string_ostream out(text);
  if (stage == 3) {
    llvm::LLVMContext llvmContext;
    auto llvmModule = translateForCpu(**module, llvmContext);
    if (!llvmModule)
      return failure(llvmModule.takeError(), diagnostics);
    out << **llvmModule;
  } else {
    (*module)->print(out);
  }
  return text;
}

absl::StatusOr<std::string>
ModelDefinition::compile(const CompileRequest &request) const {
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(text_, source_);
  if (!parsed)
    return failure(parsed.takeError(), "");
  mlir::MLIRContext context;
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ModelDiagnostics handler(&context, &os);
  llvm::Expected<std::string> artifact =
      compileArtifact(context, *parsed, request);
  if (!artifact)
    return failure(artifact.takeError(), diagnostics);
  return std::move(*artifact);
}
