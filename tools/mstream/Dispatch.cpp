//===- Dispatch.cpp - the runtime commands' table, help and flag check ----===//
//
// The flags are Abseil flags, global to the process; each command names the
// ones it takes, so that `mstream CMD --help` shows exactly those, in the
// spelling users type, and a flag of another command is an error instead of
// being silently ignored.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace mstream::cli {

const std::vector<Command> &runtimeCommands() {
  static const std::vector<Command> commands = {
      {"init",
       "initialise a model's parameters to a safetensors file",
       "mstream init CONFIG.json|MODEL.mstream -o W.safetensors [--seed S]",
       {{"o", "FILE", "output safetensors file (required)"},
        {"seed", "S", "seed of the parameter initialisation"}},
       runInit},
      {"eval",
       "loss (and logits, gradients) of a model on token arrays",
       "mstream eval CONFIG.json|MODEL.mstream --weights W.safetensors "
       "--tokens X.npy --targets Y.npy",
       {{"weights", "FILE", "parameters (safetensors, state_dict names)"},
        {"tokens", "FILE", "input token ids (.npy, int32 or int64, [B, T])"},
        {"targets", "FILE", "target token ids (.npy, [B, T])"},
        {"logits", "FILE", "also write the logits (.npy, float32, [B, T, V])"},
        {"grads", "FILE",
         "also write d loss / d parameter (safetensors, state_dict names)"},
        {"precision", "P",
         "fp32 (default) or bf16: the oracles' products in bf16, all else "
         "f32 (docs/precision.md); an artifact's is compiled in"}},
       runEval},
      {"prepare",
       "turn a text file into byte-level train/val token files",
       "mstream prepare TEXT --out DIR [--val-fraction F]",
       {{"out", "DIR", "output directory for train.bin and val.bin (required)"},
        {"val-fraction", "F", "share of the text kept for validation"}},
       runPrepare},
      {"train",
       "train a model on a data directory, with checkpoints and resume",
       "mstream train CONFIG.json|MODEL.mstream --data DIR [--out RUN] "
       "[--steps N] [--batch B] [--seq T] [--resume]",
       {{"data", "DIR", "data directory (train.bin/val.bin or .npy; required)"},
        {"out", "DIR", "run directory for checkpoints and logs (default run)"},
        {"steps", "N", "optimizer steps (the schedule's length)"},
        {"batch", "B", "sequences per step (0: 8, or an artifact's)"},
        {"seq", "T",
         "tokens per sequence (0: the model's max_seq_len, or an artifact's)"},
        {"seed", "S", "parameter initialisation and data order"},
        {"precision", "P",
         "fp32 (default) or bf16: the oracles' products in bf16, all else "
         "f32 (docs/precision.md); an artifact's is compiled in"},
        {"recipe", "NAME",
         "hybrid (Muon on block matrices, AdamW elsewhere; default) or adamw"},
        {"max-norm", "X", "global gradient-norm clip (<= 0: off)"},
        {"schedule", "NAME", "learning-rate schedule: cosine or wsd"},
        {"warmup", "N", "warmup steps (-1: steps / 10)"},
        {"decay-start", "N", "wsd: first step of the decay (-1: 0.83 * steps)"},
        {"lr-matrix", "X", "peak lr of W_qkv, W_o, W1, W2 (-1: the recipe's)"},
        {"lr-embedding", "X", "peak lr of the embeddings (-1: 6e-4)"},
        {"lr-ln", "X", "peak lr of the LayerNorm gains (-1: 6e-4)"},
        {"lr-scalar", "X", "peak lr of the raw scalars (-1: the recipe's)"},
        {"eval-every", "K", "validate every K steps and at the end"},
        {"val-batches", "N", "batches per validation"},
        {"log-every", "K",
         "progress line every K steps when not on a terminal"},
        {"checkpoint-every", "K", "checkpoint every K steps (0: --eval-every)"},
        {"resume", "", "continue from RUN/checkpoint.safetensors"},
        {"stop-at", "N",
         "stop with a checkpoint after N steps; --resume continues (-1: off)"}},
       runTrain},
      {"sample",
       "generate text from trained weights",
       "mstream sample RUN/best.safetensors --prompt TEXT",
       {{"prompt", "TEXT", "the text to continue (required)"},
        {"max-new-tokens", "N", "tokens to generate"},
        {"temperature", "X", "softmax temperature (0: greedy; >= 0)"},
        {"top-k", "K", "keep the k most likely tokens (0: all)"},
        {"seed", "S", "sampling seed"},
        {"model", "FILE",
         "CONFIG.json or artifact (default: the config in the weights)"}},
       runSample},
  };
  return commands;
}

namespace {

std::string abslName(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

const absl::CommandLineFlag *findFlag(const std::string &name) {
  return absl::FindCommandLineFlag(abslName(name));
}

/// Whether the flag takes no value (`--resume`), from its Abseil type.
bool isBoolean(const std::string &name) {
  const absl::CommandLineFlag *flag = findFlag(name);
  return flag && flag->IsOfType<bool>();
}

/// The flag as users type it: "-o" for one letter, "--steps" otherwise.
std::string spelling(const FlagDoc &flag) {
  return absl::StrCat(flag.name[1] ? "--" : "-", flag.name);
}

void printHelp(const Command &command) {
  std::printf("mstream %s: %s\n\nusage: %s\n\nflags:\n", command.name,
              command.summary, command.usage);
  for (const FlagDoc &flag : command.flags) {
    std::string usage =
        absl::StrCat(spelling(flag), *flag.value ? " " : "", flag.value);
    const absl::CommandLineFlag *abslFlag = findFlag(flag.name);
    std::string defaultValue = abslFlag ? abslFlag->DefaultValue() : "";
    std::string help = flag.help;
    if (!defaultValue.empty() && !absl::StrContains(help, "required") &&
        !isBoolean(flag.name))
      absl::StrAppend(&help, " [default: ", defaultValue, "]");
    std::printf("  %-22s %s\n", usage.c_str(), help.c_str());
  }
  std::printf("  %-22s %s\n", "--help", "show this help");
}

const FlagDoc *findDoc(const Command &command, const std::string &name) {
  for (const FlagDoc &flag : command.flags)
    if (name == flag.name)
      return &flag;
  return nullptr;
}

/// The name of a flag argument ("--eval-every=5" -> "eval-every"; Abseil's
/// "--eval_every" is the same flag), or none for a positional argument. A
/// lone "-" is positional (standard input).
std::optional<std::string> flagName(const std::string &arg) {
  if (arg.size() < 2 || arg[0] != '-')
    return std::nullopt;
  size_t begin = arg[1] == '-' ? 2 : 1;
  size_t equals = arg.find('=');
  std::string name = arg.substr(
      begin, equals == std::string::npos ? std::string::npos : equals - begin);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

} // namespace

int runCommand(const Command &command, int argc, char **argv,
               const CompilerHooks *hooks) {
  auto fail = [&](const std::string &message) {
    std::fprintf(stderr, "mstream %s: error: %s\n", command.name,
                 message.c_str());
    return 1;
  };
  // Check every flag against the command's own before Abseil sees them,
  // spelled as Abseil knows them (underscores); positional arguments and
  // the values of non-boolean flags pass unchanged.
  std::vector<std::string> args = {std::string("mstream ") + command.name};
  std::vector<std::string> positional;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      positional.insert(positional.end(), argv + i + 1, argv + argc);
      break;
    }
    std::optional<std::string> name = flagName(arg);
    if (!name) {
      positional.push_back(arg);
      continue;
    }
    if (*name == "help" || *name == "h" || *name == "helpshort" ||
        *name == "helpfull") {
      printHelp(command);
      return 0;
    }
    const FlagDoc *doc = findDoc(command, *name);
    if (!doc) {
      std::vector<std::string> taken;
      for (const FlagDoc &flag : command.flags)
        taken.push_back(spelling(flag));
      return fail(absl::StrCat("unknown flag '", arg.substr(0, arg.find('=')),
                               "' for '", command.name, "' (it takes ",
                               absl::StrJoin(taken, ", "), "; see 'mstream ",
                               command.name, " --help')"));
    }
    args.push_back(
        absl::StrCat(arg[1] == '-' ? "--" : "-", abslName(*name),
                     arg.substr(std::min(arg.find('='), arg.size()))));
    // "--steps 3": the value is the next argument, whatever it looks like.
    if (!isBoolean(*name) && arg.find('=') == std::string::npos) {
      if (i + 1 >= argc)
        return fail(absl::StrCat("flag '", arg, "' needs a value"));
      args.back() += absl::StrCat("=", argv[++i]);
    }
  }
  if (positional.size() != 1)
    return fail(absl::StrCat("takes one positional argument, got ",
                             positional.size(), "; usage: ", command.usage));
  std::vector<char *> pointers;
  for (std::string &arg : args)
    pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  absl::Status status = command.run(positional.front(), hooks);
  if (!status.ok())
    return fail(std::string(status.message()));
  return 0;
}

} // namespace mstream::cli
