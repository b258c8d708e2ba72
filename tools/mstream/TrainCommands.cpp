//===- TrainCommands.cpp - prepare, train and sample ----------------------===//

#include "Commands.h"

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Generate.h"
#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/TokenData.h"
#include "mstream/Runtime/Trainer.h"

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>

ABSL_DECLARE_FLAG(uint64_t, seed);

// Each command's help for these is in its entry of runtimeCommands().

ABSL_FLAG(std::string, out, "", "out");
ABSL_FLAG(double, val_fraction, 0.1, "val fraction");
ABSL_FLAG(std::string, data, "", "data");
ABSL_FLAG(int64_t, steps, 1000, "steps");
ABSL_FLAG(int64_t, batch, 0, "batch");
ABSL_FLAG(int64_t, seq, 0, "seq");
ABSL_FLAG(int64_t, eval_every, 100, "eval every");
ABSL_FLAG(int64_t, val_batches, 20, "val batches");
ABSL_FLAG(int64_t, log_every, 10, "log every");
ABSL_FLAG(int64_t, checkpoint_every, 0, "checkpoint every");
ABSL_FLAG(bool, resume, false, "resume");
ABSL_FLAG(int64_t, stop_at, -1, "stop at");
ABSL_FLAG(std::string, recipe, "", "recipe");
ABSL_FLAG(double, max_norm, 1.0, "max norm");
ABSL_FLAG(std::string, schedule, "cosine", "schedule");
ABSL_FLAG(int64_t, warmup, -1, "warmup");
ABSL_FLAG(int64_t, decay_start, -1, "decay start");
ABSL_FLAG(double, lr_matrix, -1, "lr matrix");
ABSL_FLAG(double, lr_embedding, -1, "lr embedding");
ABSL_FLAG(double, lr_ln, -1, "lr ln");
ABSL_FLAG(double, lr_scalar, -1, "lr scalar");
ABSL_FLAG(std::string, prompt, "", "prompt");
ABSL_FLAG(int64_t, max_new_tokens, 200, "max new tokens");
ABSL_FLAG(double, temperature, 0.8, "temperature");
ABSL_FLAG(int64_t, top_k, 0, "top k");
ABSL_FLAG(std::string, model, "", "model");

namespace mstream::cli {

using namespace rt;

absl::Status runPrepare(const std::string &text, const CompilerHooks *) {
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty())
    return absl::InvalidArgumentError("prepare needs --out DIR");
  return prepareByteCorpus(text, out, absl::GetFlag(FLAGS_val_fraction));
}

namespace {

/// The learning-rate flags, each with its name.
std::vector<std::pair<const char *, double>> learningRateFlags() {
  return {{"--lr-matrix", absl::GetFlag(FLAGS_lr_matrix)},
          {"--lr-embedding", absl::GetFlag(FLAGS_lr_embedding)},
          {"--lr-ln", absl::GetFlag(FLAGS_lr_ln)},
          {"--lr-scalar", absl::GetFlag(FLAGS_lr_scalar)}};
}

/// Before anything is compiled: each flag is -1 (the recipe's rate) or a
/// finite rate >= 0.
absl::Status checkLearningRateFlags() {
  for (auto [name, flag] : learningRateFlags())
    if (flag != -1 && (!std::isfinite(flag) || flag < 0))
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must be a finite number >= 0 (-1: the recipe's), got ",
          flag));
  return absl::OkStatus();
}

/// The recipe's peak learning rates, overridden by the flags.
LearningRates learningRates(const std::string &recipe) {
  LearningRates lr = peakLearningRates(recipe);
  double *slots[] = {&lr.matrix, &lr.embedding, &lr.ln, &lr.scalar};
  auto flags = learningRateFlags();
  for (size_t i = 0; i < flags.size(); ++i)
    if (flags[i].second != -1)
      *slots[i] = flags[i].second;
  return lr;
}

} // namespace

absl::Status runTrain(const std::string &model, const CompilerHooks *hooks) {
  TrainOptions options;
  options.dataDir = absl::GetFlag(FLAGS_data);
  if (options.dataDir.empty())
    return absl::InvalidArgumentError("train needs --data DIR");
  std::string recipe = absl::GetFlag(FLAGS_recipe);
  if (!recipe.empty() && recipe != "hybrid" && recipe != "adamw")
    return absl::InvalidArgumentError(
        absl::StrCat("--recipe must be hybrid or adamw, got '", recipe, "'"));
  if (absl::Status status = checkLearningRateFlags(); !status.ok())
    return status;
  Schedule &schedule = options.schedule;
  schedule.steps = absl::GetFlag(FLAGS_steps);
  if (absl::Status status =
          parseScheduleKind(absl::GetFlag(FLAGS_schedule), schedule.kind);
      !status.ok())
    return status;
  schedule.warmup = absl::GetFlag(FLAGS_warmup);
  schedule.decayStart = absl::GetFlag(FLAGS_decay_start);
  options.evalEvery = absl::GetFlag(FLAGS_eval_every);
  options.valBatches = absl::GetFlag(FLAGS_val_batches);
  options.logEvery = absl::GetFlag(FLAGS_log_every);
  options.checkpointEvery = absl::GetFlag(FLAGS_checkpoint_every);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.resume = absl::GetFlag(FLAGS_resume);
  options.stopAt = absl::GetFlag(FLAGS_stop_at);
  std::string out = absl::GetFlag(FLAGS_out);
  options.outDir = out.empty() ? "run" : out;

  absl::StatusOr<bool> artifact = isArtifact(model);
  if (!artifact.ok())
    return artifact.status();
  if (!*artifact) {
    absl::StatusOr<std::string> text = readFile(model);
    if (!text.ok())
      return text.status();
    options.configText = *text;
  }
  CompileRequest request;
  request.batch = absl::GetFlag(FLAGS_batch) ? absl::GetFlag(FLAGS_batch) : 8;
  request.seq = absl::GetFlag(FLAGS_seq);
  request.train = true;
  if (absl::Status status = precisionFlag(request.precision); !status.ok())
    return status;
  request.optimizer = {recipe.empty() ? "hybrid" : recipe,
                       absl::GetFlag(FLAGS_max_norm)};
  if (request.batch < 1 || request.seq < 0)
    return absl::InvalidArgumentError(
        "--batch must be at least 1 and --seq at least 0");
  if (!*artifact)
    std::printf("compiling %s for batch %lld, seq %lld ...\n", model.c_str(),
                static_cast<long long>(request.batch),
                static_cast<long long>(request.seq));
  std::fflush(stdout);
  absl::StatusOr<std::unique_ptr<Program>> program =
      loadProgram(model, request, hooks);
  if (!program.ok())
    return program.status();
  // An artifact fixes the step shape and the recipe; flags asking for
  // others would be silently ignored.
  const Manifest &manifest = (*program)->manifest();
  if (*artifact) {
    std::string recipeCompiled = manifest.optimizerValue("recipe");
    int64_t batch = absl::GetFlag(FLAGS_batch);
    if ((batch && batch != manifest.batch) ||
        (request.seq && request.seq != manifest.seq) ||
        (!recipe.empty() && !recipeCompiled.empty() &&
         recipe != recipeCompiled))
      return absl::InvalidArgumentError(
          absl::StrCat(model, " was compiled for batch ", manifest.batch,
                       ", seq ", manifest.seq, " and the ", recipeCompiled,
                       " recipe; recompile it, or train the model definition"));
    recipe = recipeCompiled;
  }
  options.lr = learningRates(*artifact ? recipe : request.optimizer.recipe);
  return train(**program, options);
}

absl::Status runSample(const std::string &weights, const CompilerHooks *hooks) {
  Metadata metadata;
  absl::StatusOr<NamedTensors> loaded = readSafetensors(weights, &metadata);
  if (!loaded.ok())
    return loaded.status();
  std::string model = absl::GetFlag(FLAGS_model);
  std::string tempConfig;
  if (model.empty()) {
    auto config = metadata.find("mstream.config");
    if (config == metadata.end())
      return absl::InvalidArgumentError(absl::StrCat(
          weights, " does not record its model definition; name it with "
                   "--model CONFIG.json"));
    tempConfig = absl::StrCat(temporaryDirectory(), "/mstream-sample-",
                              getpid(), ".json");
    if (absl::Status status = writeFileAtomically(tempConfig, config->second);
        !status.ok())
      return status;
    model = tempConfig;
  }
  auto tokenizer = metadata.find("mstream.tokenizer");
  if (tokenizer != metadata.end() && tokenizer->second != "bytes")
    return absl::InvalidArgumentError(absl::StrCat(
        weights, " was trained with tokenizer '", tokenizer->second,
        "'; sample encodes prompts with the byte-level tokenizer only"));
  CompileRequest request;
  absl::StatusOr<std::unique_ptr<Program>> program =
      loadProgram(model, request, hooks);
  if (!tempConfig.empty())
    std::remove(tempConfig.c_str());
  if (!program.ok())
    return program.status();
  const Manifest &manifest = (*program)->manifest();
  absl::StatusOr<std::vector<Tensor>> params =
      bindParams(manifest.params, std::move(*loaded), weights);
  if (!params.ok())
    return params.status();

  std::string prompt = absl::GetFlag(FLAGS_prompt);
  if (prompt.empty())
    return absl::InvalidArgumentError("sample needs --prompt TEXT");
  int64_t vocab = std::stoll(manifest.modelValue("vocab_size"));
  std::vector<int32_t> ids;
  for (unsigned char c : prompt) {
    if (c >= vocab)
      return absl::InvalidArgumentError(
          absl::StrCat("the prompt's byte ", static_cast<int>(c),
                       " is outside the model's vocabulary [0, ", vocab, ")"));
    ids.push_back(c);
  }
  GenerateOptions options;
  options.maxNewTokens = absl::GetFlag(FLAGS_max_new_tokens);
  options.temperature = absl::GetFlag(FLAGS_temperature);
  options.topK = absl::GetFlag(FLAGS_top_k);
  if (!std::isfinite(options.temperature) || options.temperature < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("--temperature must be a finite number >= 0 (0: greedy), "
                     "got ",
                     options.temperature));
  if (options.topK < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "--top-k must be >= 0 (0: all tokens), got ", options.topK));
  if (options.maxNewTokens < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-new-tokens must be >= 0, got ", options.maxNewTokens));
  options.seed = absl::GetFlag(FLAGS_seed);
  std::fputs(prompt.c_str(), stdout);
  absl::StatusOr<std::vector<int32_t>> text =
      generate(**program, *params, ids, options, [](int32_t token) {
        std::fputc(token, stdout);
        std::fflush(stdout);
      });
  std::fputc('\n', stdout);
  return text.status();
}

} // namespace mstream::cli
