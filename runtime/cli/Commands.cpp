//===- Commands.cpp - the runtime's command-line commands -----------------===//

#include "Commands.h"

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Npy.h"
#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/Program.h"

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

ABSL_FLAG(uint64_t, seed, 0,
          "init, train: parameter init and data order; sample: sampling");
ABSL_FLAG(std::string, o, "", "init: output safetensors file");
ABSL_FLAG(std::string, weights, "", "eval: parameters (safetensors)");
ABSL_FLAG(std::string, tokens, "",
          "eval: input token ids (.npy, int32/int64, [B, T])");
ABSL_FLAG(std::string, targets, "", "eval: target token ids (.npy, [B, T])");
ABSL_FLAG(std::string, grads, "",
          "eval: also write d loss / d parameter here (safetensors, "
          "state_dict names)");
ABSL_FLAG(std::string, logits, "",
          "eval: also write the logits here (.npy, float32, [B, T, V])");

namespace mstream::rt {

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

namespace {

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

} // namespace

absl::StatusOr<std::unique_ptr<Program>>
loadProgram(const std::string &model, const CompileRequest &request,
            const CompilerHooks *hooks) {
  absl::StatusOr<bool> isFile = isArtifact(model);
  if (!isFile.ok())
    return isFile.status();
  if (*isFile)
    return Program::load(model);
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

namespace {

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

} // namespace

std::vector<std::pair<std::string, std::string>> runtimeCommands() {
  return {
      {"init", "initialise a model's parameters (SPEC.md §1) to safetensors"},
      {"eval", "loss (and logits) of a model on token arrays"},
      {"prepare", "turn a text file into byte-level train/val token files"},
      {"train", "train a model on a data directory (SPEC.md §5)"},
      {"sample", "generate text from trained weights"}};
}

int runRuntimeCommand(int argc, char **argv, const CompilerHooks *hooks) {
  std::string command = argc > 1 ? argv[1] : "";
  absl::SetProgramUsageMessage(absl::StrCat(
      "\n  mstream init CONFIG.json|ARTIFACT --seed S -o W.safetensors\n"
      "  mstream eval CONFIG.json|ARTIFACT --weights W.safetensors "
      "--tokens X.npy --targets Y.npy [--logits L.npy] [--grads "
      "G.safetensors]\n"
      "  mstream prepare TEXT --out DIR [--val-fraction F]\n"
      "  mstream train CONFIG.json|ARTIFACT --data DIR [--steps N --batch B "
      "--seq T --eval-every K --out RUN/ --resume ...]\n"
      "  mstream sample RUN/best.safetensors --prompt TEXT "
      "[--max-new-tokens N --temperature X --top-k K]"));
  // The documented spelling is --eval-every; Abseil names it eval_every.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string &arg : args)
    if (absl::StartsWith(arg, "--"))
      std::replace(arg.begin() + 2,
                   arg.begin() + std::min(arg.find('='), arg.size()), '-', '_');
  std::vector<char *> pointers;
  for (std::string &arg : args)
    pointers.push_back(arg.data());
  std::vector<char *> positional =
      absl::ParseCommandLine(argc, pointers.data());
  if (positional.size() != 3) {
    std::fprintf(stderr,
                 "mstream: error: '%s' takes one positional argument; see "
                 "'mstream %s --helpshort'\n",
                 command.c_str(), command.c_str());
    return 1;
  }
  std::string model = positional[2];
  absl::Status status = command == "init"      ? runInit(model, hooks)
                        : command == "eval"    ? runEval(model, hooks)
                        : command == "prepare" ? runPrepare(model)
                        : command == "train"   ? runTrain(model, hooks)
                                               : runSample(model, hooks);
  if (!status.ok()) {
    std::fprintf(stderr, "mstream: error: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

} // namespace mstream::rt
