//===- Trainer.cpp - the training loop ------------------------------------===//

#include "mstream/Runtime/Trainer.h"

#include "mstream/Runtime/Checkpoint.h"
#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Params.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mstream::rt {

namespace {

Tensor scalar(double value) {
  Tensor tensor = Tensor::zeros(DType::F32, {});
  tensor.f32()[0] = static_cast<float>(value);
  return tensor;
}

std::string formatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600
             ? absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
             : absl::StrFormat("%d:%02d", s / 60, s % 60);
}

/// `options` with the derived defaults filled in.
TrainOptions withDefaults(TrainOptions options) {
  Schedule &schedule = options.schedule;
  if (schedule.warmup < 0)
    schedule.warmup = schedule.steps / 10;
  if (schedule.decayStart < 0)
    schedule.decayStart = schedule.steps * 83 / 100;
  if (options.checkpointEvery < 1)
    options.checkpointEvery = options.evalEvery;
  return options;
}

/// The signal (SIGINT or SIGTERM) that asked the run to stop, 0 if none.
volatile std::sig_atomic_t stopSignal = 0;

void onStopSignal(int signal) { stopSignal = signal; }

/// While a run trains, SIGINT and SIGTERM ask it to stop at the next step
/// boundary with a checkpoint, instead of killing it mid-step; a second
/// one acts as it would have (SA_RESETHAND). The previous handlers (the
/// shell's default, Python's KeyboardInterrupt) come back afterwards.
class StopSignals {
public:
  StopSignals() {
    stopSignal = 0;
    struct sigaction action = {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    ::sigaction(SIGINT, &action, &previousInt_);
    ::sigaction(SIGTERM, &action, &previousTerm_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &previousInt_, nullptr);
    ::sigaction(SIGTERM, &previousTerm_, nullptr);
  }
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

private:
  struct sigaction previousInt_ = {}, previousTerm_ = {};
};

class Run {
public:
  Run(Program &program, const TrainOptions &options)
      : program_(program), options_(withDefaults(options)),
        manifest_(program.manifest()) {}
  ~Run() {
    if (lock_ >= 0)
      ::close(lock_);
  }
  Run(const Run &) = delete;
  Run &operator=(const Run &) = delete;

  absl::Status start();
  absl::Status loop();
  std::vector<Tensor> &params() { return state_.params; }

private:
  std::string path(absl::string_view file) const {
    return absl::StrCat(options_.outDir, "/", file);
  }
  Metadata settings() const;
  absl::Status checkSettings(const Metadata &recorded) const;
  absl::StatusOr<double> validate();
  absl::Status appendMetrics(const std::string &line);
  absl::Status keepMetricsBefore(int64_t step);
  absl::Status saveBest();
  void printProgress(const StepReport &report);

  Program &program_;
  const TrainOptions options_;
  const Manifest &manifest_;
  DataDir data_;
  TrainingState state_;
  int64_t valBatches_ = 0;
  /// The step of the checkpoint on disk; -1 before the first.
  int64_t savedStep_ = -1;
  absl::Status checkpoint(const Metadata &settings);
  absl::Status lockOutDir();
  bool tty_ = ::isatty(1);
  /// RUN/.lock, held (flock) while this run writes into RUN.
  int lock_ = -1;
};

Metadata Run::settings() const {
  Metadata settings = {{"mstream.batch", absl::StrCat(manifest_.batch)},
                       {"mstream.seq", absl::StrCat(manifest_.seq)},
                       {"mstream.seed", absl::StrCat(options_.seed)},
                       {"mstream.recipe", manifest_.optimizerValue("recipe")},
                       {"mstream.variant", manifest_.modelValue("variant")}};
  if (!data_.tokenizer.empty())
    settings["mstream.tokenizer"] = data_.tokenizer;
  if (!options_.configText.empty())
    settings["mstream.config"] = options_.configText;
  return settings;
}

absl::Status Run::checkSettings(const Metadata &recorded) const {
  for (const auto &[key, value] : settings()) {
    if (key == "mstream.config" || key == "mstream.tokenizer")
      continue;
    auto it = recorded.find(key);
    if (it != recorded.end() && it->second != value)
      return absl::FailedPreconditionError(absl::StrFormat(
          "--resume: the checkpoint was written with %s = %s, this run has "
          "%s; resume with the same settings",
          key.substr(8), it->second, value));
  }
  return absl::OkStatus();
}

/// Two runs writing one directory would interleave their metrics and
/// overwrite each other's checkpoints. The lock is flock(2)'s: the kernel
/// drops it when the process ends, however it ends, so a crashed run
/// leaves no stale lock behind (the empty file stays, harmlessly).
absl::Status Run::lockOutDir() {
  std::string file = path(".lock");
  lock_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_ < 0)
    return absl::UnavailableError(
        absl::StrCat(file, ": cannot create: ", std::strerror(errno)));
  if (::flock(lock_, LOCK_EX | LOCK_NB) == 0)
    return absl::OkStatus();
  int error = errno;
  ::close(lock_);
  lock_ = -1;
  if (error == EWOULDBLOCK)
    return absl::FailedPreconditionError(
        absl::StrCat("another run is writing to ", options_.outDir,
                     " (it holds ", file, "); give this one another --out"));
  return absl::UnavailableError(
      absl::StrCat(file, ": cannot lock: ", std::strerror(error)));
}

absl::Status Run::start() {
  if (!manifest_.findEntry("train_step") || !manifest_.findEntry("loss"))
    return absl::FailedPreconditionError(
        "the artifact has no train_step entry: compile it with "
        "'mstream compile ... --target=cpu --train'");
  if (absl::Status status = options_.schedule.validate(); !status.ok())
    return status;
  if (options_.evalEvery < 1 || options_.logEvery < 1 ||
      options_.valBatches < 1)
    return absl::InvalidArgumentError(
        "--eval-every, --log-every and --val-batches must be at least 1");
  for (auto [name, rate] :
       {std::pair{"lr_matrix (--lr-matrix)", options_.lr.matrix},
        std::pair{"lr_embedding (--lr-embedding)", options_.lr.embedding},
        std::pair{"lr_ln (--lr-ln)", options_.lr.ln},
        std::pair{"lr_scalar (--lr-scalar)", options_.lr.scalar}})
    if (!std::isfinite(rate) || rate < 0)
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must be a finite learning rate >= 0, got ", rate));
  int64_t vocab = std::stoll(manifest_.modelValue("vocab_size"));
  absl::StatusOr<DataDir> data =
      readDataDir(options_.dataDir, vocab, manifest_.batch, manifest_.seq);
  if (!data.ok())
    return data.status();
  data_ = std::move(*data);
  valBatches_ = validationBatches(data_.val, manifest_.batch, manifest_.seq,
                                  options_.valBatches);

  if (absl::Status status = makeDirectories(options_.outDir); !status.ok())
    return status;
  if (absl::Status status = lockOutDir(); !status.ok())
    return status;
  if (options_.resume) {
    Metadata recorded;
    absl::StatusOr<TrainingState> loaded =
        loadCheckpoint(path("checkpoint.safetensors"), manifest_, recorded);
    if (!loaded.ok())
      return loaded.status();
    if (absl::Status status = checkSettings(recorded); !status.ok())
      return status;
    state_ = std::move(*loaded);
    savedStep_ = state_.step;
    if (absl::Status status = keepMetricsBefore(state_.step); !status.ok())
      return status;
    std::printf("resuming %s at step %lld (epoch %lld, block %lld)\n",
                path("checkpoint.safetensors").c_str(),
                static_cast<long long>(state_.step),
                static_cast<long long>(state_.position.epoch),
                static_cast<long long>(state_.position.cursor));
  } else {
    if (!options_.initialParams.empty()) {
      state_.params = options_.initialParams;
    } else {
      NamedTensors init = initParams(manifest_.params, options_.seed);
      for (auto &[name, tensor] : init)
        state_.params.push_back(std::move(tensor));
    }
    state_.optimizer = zeroOptimizerState(manifest_);
    if (absl::Status status = writeFileAtomically(path("metrics.jsonl"), "");
        !status.ok())
      return status;
  }
  if (!options_.configText.empty())
    if (absl::Status status =
            writeFileAtomically(path("config.json"), options_.configText);
        !status.ok())
      return status;
  std::printf("training %s (%s recipe): %lld parameters, batch %lld x seq "
              "%lld, %lld steps; train %zu tokens, val %zu tokens (%lld "
              "batches per evaluation)\n",
              manifest_.modelValue("variant").c_str(),
              manifest_.optimizerValue("recipe").c_str(),
              static_cast<long long>(countParameters(manifest_.params)),
              static_cast<long long>(manifest_.batch),
              static_cast<long long>(manifest_.seq),
              static_cast<long long>(options_.schedule.steps),
              data_.train.tokens.size(), data_.val.tokens.size(),
              static_cast<long long>(valBatches_));
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::StatusOr<double> Run::validate() {
  Tensor tokens = Tensor::zeros(DType::I32, {manifest_.batch, manifest_.seq});
  Tensor targets = tokens;
  double sum = 0;
  for (int64_t i = 0; i < valBatches_; ++i) {
    validationBatch(data_.val, i, tokens, targets);
    absl::StatusOr<std::vector<Tensor>> loss =
        program_.run("loss", {&tokens, &targets}, state_.params);
    if (!loss.ok())
      return loss.status();
    sum += loss->front().f32()[0];
  }
  return sum / static_cast<double>(valBatches_);
}

absl::Status Run::appendMetrics(const std::string &line) {
  FILE *file = std::fopen(path("metrics.jsonl").c_str(), "a");
  if (!file)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot append to ", path("metrics.jsonl")));
  std::fprintf(file, "%s\n", line.c_str());
  std::fclose(file);
  return absl::OkStatus();
}

/// A resumed run rewrites what the interrupted one logged after its last
/// checkpoint, so metrics.jsonl reads as one uninterrupted run.
absl::Status Run::keepMetricsBefore(int64_t step) {
  absl::StatusOr<std::string> text = readFile(path("metrics.jsonl"));
  if (!text.ok())
    return absl::OkStatus();
  std::string kept;
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    absl::StatusOr<JsonValue> record = parseJson(line);
    const JsonValue *at = record.ok() ? record->find("step") : nullptr;
    if (at && at->number < static_cast<double>(step))
      absl::StrAppend(&kept, line, "\n");
  }
  return writeFileAtomically(path("metrics.jsonl"), kept);
}

absl::Status Run::checkpoint(const Metadata &settings) {
  if (absl::Status status = saveCheckpoint(path("checkpoint.safetensors"),
                                           manifest_, state_, settings);
      !status.ok())
    return status;
  savedStep_ = state_.step;
  return absl::OkStatus();
}

absl::Status Run::saveBest() {
  return writeSafetensors(path("best.safetensors"),
                          nameParams(manifest_.params, state_.params),
                          settings());
}

void Run::printProgress(const StepReport &r) {
  int64_t steps = options_.schedule.steps;
  bool last = r.step + 1 == steps;
  if (!tty_ && r.step % options_.logEvery != 0 && !last)
    return;
  double remaining =
      r.msPerStep * 1e-3 * static_cast<double>(steps - r.step - 1);
  std::printf("%sstep %*lld/%lld | loss %.4f | lr x%.3f | grad norm %.3f | "
              "%.0f tok/s | %.1f ms/step | ETA %s%s",
              tty_ ? "\r" : "", static_cast<int>(std::to_string(steps).size()),
              static_cast<long long>(r.step + 1), static_cast<long long>(steps),
              r.loss, r.lrMultiplier, r.gradNorm, r.tokensPerSecond,
              r.msPerStep, formatDuration(remaining).c_str(),
              tty_ && !last ? "" : "\n");
  std::fflush(stdout);
}

absl::Status Run::loop() {
  const Schedule &schedule = options_.schedule;
  BlockSampler sampler(data_.train, manifest_.seq, options_.seed,
                       state_.position);
  Tensor tokens = Tensor::zeros(DType::I32, {manifest_.batch, manifest_.seq});
  Tensor targets = tokens;
  Metadata settings = this->settings();
  double emaMs = 0;

  auto evaluate = [&](int64_t step, StepReport &report) -> absl::Status {
    absl::StatusOr<double> val = validate();
    if (!val.ok())
      return val.status();
    report.evaluated = true;
    report.valLoss = *val;
    bool best = *val < state_.bestVal;
    if (best) {
      state_.bestVal = *val;
      if (absl::Status status = saveBest(); !status.ok())
        return status;
    }
    std::printf("%sstep %lld: val loss %.4f%s\n", tty_ ? "\r\033[K" : "",
                static_cast<long long>(step), *val,
                best ? " (best, saved best.safetensors)" : "");
    return appendMetrics(absl::StrFormat(
        "{\"step\": %d, \"val_loss\": %.9g, \"best_val_loss\": %.9g}", step,
        *val, state_.bestVal));
  };

  for (int64_t s = state_.step; s < schedule.steps; ++s) {
    StepReport report;
    report.step = s;
    if (s % options_.evalEvery == 0)
      if (absl::Status status = evaluate(s, report); !status.ok())
        return status;
    auto begin = std::chrono::steady_clock::now();
    sampler.next(tokens, targets);
    double mult = schedule.multiplier(s);
    absl::StatusOr<StepOutputs> out =
        runTrainStep(program_, tokens, targets, options_.lr.scaled(mult), s + 1,
                     state_.optimizer, state_.params);
    if (!out.ok())
      return out.status();
    double loss = out->loss;
    if (!std::isfinite(loss))
      return absl::AbortedError(absl::StrFormat(
          "the training loss is %f at step %d (lr multiplier %.4g); "
          "stopping. %s",
          loss, s, mult,
          savedStep_ < 0
              ? std::string("No checkpoint was written yet.")
              : absl::StrFormat("%s holds step %d.",
                                path("checkpoint.safetensors"), savedStep_)));
    state_.step = s + 1;
    state_.position = sampler.position();

    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - begin)
                    .count();
    emaMs = emaMs == 0 ? ms : 0.9 * emaMs + 0.1 * ms;
    report.loss = loss;
    report.lrMultiplier = mult;
    report.gradNorm = out->gradNorm;
    report.msPerStep = emaMs;
    report.tokensPerSecond =
        static_cast<double>(manifest_.batch * manifest_.seq) / (emaMs * 1e-3);
    if (absl::Status status = appendMetrics(absl::StrFormat(
            "{\"step\": %d, \"loss\": %.9g, \"lr_multiplier\": %.9g, "
            "\"grad_norm\": %.9g, \"ms\": %.3f}",
            s, loss, mult, report.gradNorm, ms));
        !status.ok())
      return status;
    printProgress(report);
    if (options_.onStep)
      options_.onStep(report);
    int signal = stopSignal;
    bool stop = state_.step == options_.stopAt;
    if (state_.step % options_.checkpointEvery == 0 ||
        state_.step == schedule.steps || stop || signal)
      if (absl::Status status = checkpoint(settings); !status.ok())
        return status;
    if (signal)
      return absl::CancelledError(absl::StrFormat(
          "%sstopped by %s after step %d: %s holds it; continue with "
          "--resume",
          tty_ ? "\n" : "", signal == SIGINT ? "SIGINT" : "SIGTERM",
          state_.step, path("checkpoint.safetensors")));
    if (stop) {
      std::printf("stopped after step %lld as asked; continue with --resume\n",
                  static_cast<long long>(state_.step));
      return absl::OkStatus();
    }
  }
  // The last evaluation, after the final update.
  StepReport final;
  if (absl::Status status = evaluate(schedule.steps, final); !status.ok())
    return status;
  if (absl::Status status = checkpoint(settings); !status.ok())
    return status;
  std::printf("{\"steps\": %lld, \"final_val_loss\": %.6f, \"best_val_loss\": "
              "%.6f, \"run\": %s}\n",
              static_cast<long long>(schedule.steps), final.valLoss,
              state_.bestVal, quoteJson(options_.outDir).c_str());
  return absl::OkStatus();
}

} // namespace

LearningRates peakLearningRates(const std::string &recipe) {
  LearningRates lr;
  if (recipe == "adamw")
    lr.matrix = lr.scalar = 6e-4;
  return lr;
}

absl::StatusOr<StepOutputs> runTrainStep(Program &program, const Tensor &tokens,
                                         const Tensor &targets,
                                         const LearningRates &lr, int64_t step,
                                         std::vector<Tensor> &optimizer,
                                         std::vector<Tensor> &params) {
  // The order of mstream-build-train-step's scalar inputs.
  std::vector<Tensor> scalars = {scalar(lr.matrix), scalar(lr.embedding),
                                 scalar(lr.ln), scalar(lr.scalar),
                                 scalar(static_cast<double>(step))};
  std::vector<const Tensor *> inputs = {&tokens, &targets};
  for (const Tensor &t : scalars)
    inputs.push_back(&t);
  for (const Tensor &t : optimizer)
    inputs.push_back(&t);
  absl::StatusOr<std::vector<Tensor>> out =
      program.run("train_step", inputs, params);
  if (!out.ok())
    return out.status();
  size_t numParams = params.size();
  for (size_t i = 0; i < numParams; ++i)
    std::swap(params[i], (*out)[2 + i]);
  for (size_t i = 0; i < optimizer.size(); ++i)
    std::swap(optimizer[i], (*out)[2 + numParams + i]);
  StepOutputs result{(*out)[0].f32()[0], (*out)[1].f32()[0]};
  program.recycle("train_step", std::move(*out));
  return result;
}

absl::Status train(Program &program, const TrainOptions &options,
                   std::vector<Tensor> *finalParams) {
  Run run(program, options);
  StopSignals signals;
  if (absl::Status status = run.start(); !status.ok())
    return status;
  if (absl::Status status = run.loop(); !status.ok())
    return status;
  if (finalParams)
    *finalParams = std::move(run.params());
  return absl::OkStatus();
}

} // namespace mstream::rt
