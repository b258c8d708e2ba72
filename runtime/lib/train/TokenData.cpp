//===- TokenData.cpp - token corpora, the sampler and val batches ---------===//

#include "mstream/Runtime/TokenData.h"

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Npy.h"
#include "mstream/Runtime/Random.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sys/stat.h>

namespace mstream::rt {

namespace {

bool exists(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

absl::StatusOr<std::vector<int32_t>> readBin(const std::string &path) {
  absl::StatusOr<std::string> bytes = readFile(path);
  if (!bytes.ok())
    return bytes.status();
  if (bytes->size() % 2)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d bytes is an odd length; a .bin token file holds uint16 "
        "ids (2 bytes each)",
        path, bytes->size()));
  std::vector<int32_t> tokens(bytes->size() / 2);
  const auto *data = reinterpret_cast<const unsigned char *>(bytes->data());
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = data[2 * i] | (data[2 * i + 1] << 8);
  return tokens;
}

absl::StatusOr<std::vector<int32_t>> readNpyTokens(const std::string &path) {
  absl::StatusOr<Tensor> array = readNpy(path);
  if (!array.ok())
    return array.status();
  if (array->dtype != DType::I32)
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": token arrays must hold integers (int32 or int64)"));
  return std::vector<int32_t>(array->i32(),
                              array->i32() + array->numElements());
}

} // namespace

absl::StatusOr<TokenCorpus> readTokenFile(const std::string &path,
                                          int64_t vocab) {
  absl::StatusOr<std::vector<int32_t>> tokens =
      absl::EndsWith(path, ".npy") ? readNpyTokens(path) : readBin(path);
  if (!tokens.ok())
    return tokens.status();
  for (size_t i = 0; i < tokens->size(); ++i)
    if ((*tokens)[i] < 0 || (*tokens)[i] >= vocab)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: token %d at index %d is outside the model's vocabulary "
          "[0, %d)",
          path, (*tokens)[i], i, vocab));
  return TokenCorpus{path, std::move(*tokens)};
}

absl::StatusOr<DataDir> readDataDir(const std::string &dir, int64_t vocab,
                                    int64_t batch, int64_t seq) {
  DataDir data;
  for (auto [split, corpus] :
       {std::pair{"train", &data.train}, std::pair{"val", &data.val}}) {
    std::string bin = absl::StrCat(dir, "/", split, ".bin");
    std::string npy = absl::StrCat(dir, "/", split, ".npy");
    if (!exists(bin) && !exists(npy))
      return absl::NotFoundError(absl::StrCat(
          dir, " has neither ", split, ".bin nor ", split,
          ".npy (prepare a text with 'mstream prepare TEXT --out ", dir, "')"));
    absl::StatusOr<TokenCorpus> read =
        readTokenFile(exists(bin) ? bin : npy, vocab);
    if (!read.ok())
      return read.status();
    int64_t blocks = (static_cast<int64_t>(read->tokens.size()) - 1) / seq;
    if (blocks < batch)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %d tokens is too short for one batch: %d sequences of %d+1 "
          "tokens need at least %d",
          read->path, read->tokens.size(), batch, seq, batch * seq + 1));
    *corpus = std::move(*read);
  }
  std::string metaPath = dir + "/meta.json";
  if (exists(metaPath)) {
    absl::StatusOr<std::string> text = readFile(metaPath);
    if (!text.ok())
      return text.status();
    absl::StatusOr<JsonValue> meta = parseJson(*text);
    if (!meta.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(metaPath, ": ", meta.status().message()));
    if (const JsonValue *tokenizer = meta->find("tokenizer"))
      data.tokenizer = tokenizer->string;
  }
  return data;
}

BlockSampler::BlockSampler(const TokenCorpus &corpus, int64_t seq,
                           uint64_t seed, SamplerPosition position)
    : corpus_(corpus), seq_(seq), seed_(seed), position_(position) {
  startEpoch();
}

void BlockSampler::startEpoch() {
  uint64_t state = seed_ * 0x9e3779b97f4a7c15ull + position_.epoch;
  int64_t offset = position_.epoch == 0 ? 0 : below(state, seq_);
  int64_t count =
      (static_cast<int64_t>(corpus_.tokens.size()) - 1 - offset) / seq_;
  starts_.resize(count);
  for (int64_t i = 0; i < count; ++i)
    starts_[i] = offset + i * seq_;
  for (int64_t i = count - 1; i > 0; --i)
    std::swap(starts_[i], starts_[below(state, i + 1)]);
}

void BlockSampler::next(Tensor &tokens, Tensor &targets) {
  int64_t batch = tokens.shape[0];
  for (int64_t b = 0; b < batch; ++b) {
    if (position_.cursor >= static_cast<int64_t>(starts_.size())) {
      ++position_.epoch;
      position_.cursor = 0;
      startEpoch();
    }
    const int32_t *block = corpus_.tokens.data() + starts_[position_.cursor++];
    std::copy(block, block + seq_, tokens.i32() + b * seq_);
    std::copy(block + 1, block + seq_ + 1, targets.i32() + b * seq_);
  }
}

void validationBatch(const TokenCorpus &corpus, int64_t index, Tensor &tokens,
                     Tensor &targets) {
  int64_t batch = tokens.shape[0], seq = tokens.shape[1];
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t *block = corpus.tokens.data() + (index * batch + b) * seq;
    std::copy(block, block + seq, tokens.i32() + b * seq);
    std::copy(block + 1, block + seq + 1, targets.i32() + b * seq);
  }
}

int64_t validationBatches(const TokenCorpus &corpus, int64_t batch, int64_t seq,
                          int64_t wanted) {
  int64_t blocks = (static_cast<int64_t>(corpus.tokens.size()) - 1) / seq;
  return std::min(wanted, blocks / batch);
}

absl::Status prepareByteCorpus(const std::string &textPath,
                               const std::string &outDir, double valFraction) {
  if (!(valFraction > 0 && valFraction < 1))
    return absl::InvalidArgumentError(absl::StrFormat(
        "--val-fraction must lie in (0, 1), got %g", valFraction));
  absl::StatusOr<std::string> text = readFile(textPath);
  if (!text.ok())
    return text.status();
  if (text->size() < 2)
    return absl::InvalidArgumentError(
        absl::StrCat(textPath, ": too short to split into train and val"));
  if (absl::Status status = makeDirectories(outDir); !status.ok())
    return status;
  size_t split = static_cast<size_t>(static_cast<double>(text->size()) *
                                     (1.0 - valFraction));
  auto encode = [&](size_t begin, size_t end) {
    std::string bytes;
    bytes.reserve(2 * (end - begin));
    for (size_t i = begin; i < end; ++i) {
      bytes.push_back((*text)[i]);
      bytes.push_back('\0');
    }
    return bytes;
  };
  for (auto [file, bytes] :
       {std::pair{"train.bin", encode(0, split)},
        std::pair{"val.bin", encode(split, text->size())},
        std::pair{
            "meta.json",
            absl::StrCat("{\"tokenizer\": \"bytes\", \"vocab_size\": 256, "
                         "\"source\": ",
                         quoteJson(textPath), "}\n")}})
    if (absl::Status status =
            writeFileAtomically(absl::StrCat(outDir, "/", file), bytes);
        !status.ok())
      return status;
  std::printf("{\"train_tokens\": %zu, \"val_tokens\": %zu, \"out\": %s}\n",
              split, text->size() - split, quoteJson(outDir).c_str());
  return absl::OkStatus();
}

} // namespace mstream::rt
