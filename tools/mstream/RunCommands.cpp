//===- RunCommands.cpp - init and eval ------------------------------------===//

#include "Commands.h"

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Npy.h"
#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/Program.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

#include <cstdio>
#include <unistd.h>

// Each command's help for these is in its entry of runtimeCommands().
ABSL_FLAG(uint64_t, seed, 0, "random seed");
ABSL_FLAG(std::string, o, "", "output file");
ABSL_FLAG(std::string, weights, "", "parameters");
ABSL_FLAG(std::string, tokens, "", "input token ids");
ABSL_FLAG(std::string, targets, "", "target token ids");
ABSL_FLAG(std::string, grads, "", "gradients output");
ABSL_FLAG(std::string, logits, "", "logits output");
ABSL_FLAG(std::string, precision, "", "precision");

namespace mstream::cli {

using namespace rt;

namespace {

constexpr absl::string_view kArtifactMagic = "MSTREAMA";

} // namespace

absl::StatusOr<bool> isArtifact(const std::string &path) {
  absl::StatusOr<std::string> bytes = readFile(path);
  if (!bytes.ok())
    return bytes.status();
  return absl::string_view(*bytes).substr(0, 8) == kArtifactMagic;
}

absl::Status needsCompiler(const std::string &path,
                           const CompilerHooks *hooks) {
  if (hooks)
    return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      path,
      " is not an artifact, and this mstream was built without the "
      "compiler (MSTREAM_BUILD_COMPILER=OFF): compile it elsewhere with "
      "'mstream compile ",
      path, " --target=cpu [--train] -o MODEL.mstream'"));
}

absl::Status runInit(const std::string &model, const CompilerHooks *hooks) {
  std::string out = absl::GetFlag(FLAGS_o);
  if (out.empty())
    return absl::InvalidArgumentError("init needs -o W.safetensors");
  std::vector<ParamSpec> table;
  absl::StatusOr<bool> artifact = isArtifact(model);
  if (!artifact.ok())
    return artifact.status();
  if (*artifact) {
    absl::StatusOr<std::unique_ptr<Program>> program = Program::load(model);
    if (!program.ok())
      return program.status();
    table = (*program)->manifest().params;
  } else {
    if (absl::Status status = needsCompiler(model, hooks); !status.ok())
      return status;
    absl::StatusOr<std::vector<ParamSpec>> parsed = hooks->paramTable(model);
    if (!parsed.ok())
      return parsed.status();
    table = std::move(*parsed);
  }
  NamedTensors params = initParams(table, absl::GetFlag(FLAGS_seed));
  if (absl::Status status = writeSafetensors(out, params); !status.ok())
    return status;
  std::printf("{\"parameters\": %lld, \"tensors\": %zu, \"out\": %s}\n",
              static_cast<long long>(countParameters(table)), table.size(),
              quoteJson(out).c_str());
  return absl::OkStatus();
}

absl::Status precisionFlag(std::string &precision) {
  std::string asked = absl::GetFlag(FLAGS_precision);
  if (asked.empty())
    return absl::OkStatus();
  if (asked != "fp32" && asked != "bf16")
    return absl::InvalidArgumentError(
        absl::StrCat("--precision must be fp32 or bf16, got '", asked, "'"));
  precision = asked;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Program>>
loadProgram(const std::string &model, const CompileRequest &request,
            const CompilerHooks *hooks) {
  absl::StatusOr<bool> isFile = isArtifact(model);
  if (!isFile.ok())
    return isFile.status();
  if (*isFile) {
    absl::StatusOr<std::unique_ptr<Program>> program = Program::load(model);
    // An artifact's precision is compiled in; a flag asking for another
    // would be silently ignored.
    std::string asked = absl::GetFlag(FLAGS_precision);
    if (program.ok() && !asked.empty() &&
        asked != (*program)->manifest().precision)
      return absl::InvalidArgumentError(absl::StrCat(
          model,
          " was compiled for --precision=", (*program)->manifest().precision,
          "; recompile it with --precision=", asked,
          ", or pass the model definition"));
    return program;
  }
  if (absl::Status status = needsCompiler(model, hooks); !status.ok())
    return status;
  // The artifact runs here and is deleted: its host code is for this CPU.
  CompileRequest here = request;
  here.hostCpu = "native";
  absl::StatusOr<std::string> artifact = hooks->compile(model, here);
  if (!artifact.ok())
    return artifact.status();
  std::string path = absl::StrCat(temporaryDirectory(), "/mstream-eval-",
                                  getpid(), ".mstream");
  if (absl::Status status = writeFileAtomically(path, *artifact); !status.ok())
    return status;
  absl::StatusOr<std::unique_ptr<Program>> program = Program::load(path);
  std::remove(path.c_str());
  return program;
}

absl::Status runEval(const std::string &model, const CompilerHooks *hooks) {
  for (auto [flag, name] :
       {std::pair{absl::GetFlag(FLAGS_weights), "--weights"},
        std::pair{absl::GetFlag(FLAGS_tokens), "--tokens"},
        std::pair{absl::GetFlag(FLAGS_targets), "--targets"}})
    if (flag.empty())
      return absl::InvalidArgumentError(absl::StrCat("eval needs ", name));
  absl::StatusOr<Tensor> tokens = readNpy(absl::GetFlag(FLAGS_tokens));
  if (!tokens.ok())
    return tokens.status();
  absl::StatusOr<Tensor> targets = readNpy(absl::GetFlag(FLAGS_targets));
  if (!targets.ok())
    return targets.status();
  if (tokens->dtype != DType::I32 || targets->dtype != DType::I32)
    return absl::InvalidArgumentError(
        "tokens and targets must be integer arrays (int32 or int64)");
  if (targets->shape != tokens->shape)
    return absl::InvalidArgumentError(absl::StrCat(
        "targets ", formatShape(targets->shape),
        " must have the shape of tokens ", formatShape(tokens->shape)));

  std::string gradsPath = absl::GetFlag(FLAGS_grads);
  if (tokens->shape.size() != 2)
    return absl::InvalidArgumentError(
        absl::StrCat("tokens must be a [batch, seq] array, got ",
                     formatShape(tokens->shape)));
  CompileRequest request;
  if (absl::Status status = precisionFlag(request.precision); !status.ok())
    return status;
  request.batch = tokens->shape[0];
  request.seq = tokens->shape[1];
  request.gradients = !gradsPath.empty();
  absl::StatusOr<std::unique_ptr<Program>> program =
      loadProgram(model, request, hooks);
  if (!program.ok())
    return program.status();
  const Manifest &manifest = (*program)->manifest();
  std::string weightsPath = absl::GetFlag(FLAGS_weights);
  absl::StatusOr<NamedTensors> loaded = readSafetensors(weightsPath);
  if (!loaded.ok())
    return loaded.status();
  absl::StatusOr<std::vector<Tensor>> params =
      bindParams(manifest.params, std::move(*loaded), weightsPath);
  if (!params.ok())
    return params.status();

  // With --grads, one loss_and_grads call gives the loss and the gradients.
  bool gradients = !gradsPath.empty();
  if (gradients && !manifest.findEntry("loss_and_grads"))
    return absl::FailedPreconditionError(
        absl::StrCat(model, " has no loss_and_grads entry: compile it with "
                            "'mstream compile ... --target=cpu --grads'"));
  absl::StatusOr<std::vector<Tensor>> loss = (*program)->run(
      gradients ? "loss_and_grads" : "loss", {&*tokens, &*targets}, *params);
  if (!loss.ok())
    return loss.status();
  if (gradients) {
    std::vector<Tensor> grads(std::make_move_iterator(loss->begin() + 1),
                              std::make_move_iterator(loss->end()));
    if (absl::Status status = writeSafetensors(
            gradsPath, nameParams(manifest.params, std::move(grads)));
        !status.ok())
      return status;
  }
  if (std::string logitsPath = absl::GetFlag(FLAGS_logits);
      !logitsPath.empty()) {
    absl::StatusOr<std::vector<Tensor>> logits =
        (*program)->run("forward", {&*tokens}, *params);
    if (!logits.ok())
      return logits.status();
    if (absl::Status status = writeNpy(logitsPath, logits->front());
        !status.ok())
      return status;
  }
  std::printf("{\"loss\": %.9g, \"variant\": \"%s\", \"batch\": %lld, "
              "\"seq\": %lld, \"host_isa\": \"%s\"}\n",
              loss->front().f32()[0], manifest.modelValue("variant").c_str(),
              static_cast<long long>(manifest.batch),
              static_cast<long long>(manifest.seq),
              (*program)->hostIsa().c_str());
  return absl::OkStatus();
}

} // namespace mstream::cli
