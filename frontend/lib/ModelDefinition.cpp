//===- ModelDefinition.cpp - the compiler as a library, without MLIR types ===//

#include "mstream/Frontend/ModelDefinition.h"

#include "mstream/Frontend/Compiler.h"
#include "mstream/Frontend/Diagnostics.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
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

/// Runs `build` in a fresh context; what its diagnostics print becomes part
/// of the error.
absl::StatusOr<std::string>
inContext(llvm::function_ref<llvm::Expected<std::string>(mlir::MLIRContext &)>
              build) {
  mlir::MLIRContext context;
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ModelDiagnostics handler(&context, &os);
  llvm::Expected<std::string> result = build(context);
  if (!result)
    return failure(result.takeError(), diagnostics);
  return std::move(*result);
}

} // namespace

absl::StatusOr<ModelDefinition> ModelDefinition::parse(std::string text,
                                                       std::string source) {
  llvm::Expected<ParsedConfig> parsed = parseModelConfig(text, source);
  if (!parsed)
    return failure(parsed.takeError(), "");
  return ModelDefinition(std::move(text), std::move(*parsed));
}

std::vector<std::string> ModelDefinition::phases() {
  std::vector<std::string> names;
  for (llvm::StringLiteral name : phaseNames())
    names.push_back(name.str());
  return names;
}

absl::StatusOr<std::string>
ModelDefinition::ir(const std::string &phase,
                    const CompileRequest &request) const {
  std::optional<Phase> stage = parsePhase(phase);
  if (!stage)
    return absl::InvalidArgumentError(
        "unknown IR phase '" + phase +
        "'; this mstream has: " + llvm::join(phases(), ", "));
  // "training" shows the train step; later phases lower what `request`
  // asks for, as compile() would.
  CompileRequest entries = request;
  entries.train |= *stage == Phase::Training;
  return inContext(
      [&](mlir::MLIRContext &context) -> llvm::Expected<std::string> {
        auto module =
            importModel(context, parsed_, {request.batch, request.seq});
        if (!module)
          return module.takeError();
        if (llvm::Error error =
                runPhases(**module, entries, std::min(*stage, Phase::Lowered)))
          return std::move(error);
        std::string text;
        llvm::raw_string_ostream out(text);
        if (*stage == Phase::Llvm) {
          llvm::LLVMContext llvmContext;
          auto llvmModule =
              translateHostCode(**module, llvmContext, request.hostCpu);
          if (!llvmModule)
            return llvmModule.takeError();
          out << **llvmModule;
        } else {
          (*module)->print(out);
        }
        return text;
      });
}

absl::StatusOr<std::string>
ModelDefinition::compile(const CompileRequest &request) const {
  return inContext([&](mlir::MLIRContext &context) {
    return compileArtifact(context, parsed_, request);
  });
}
