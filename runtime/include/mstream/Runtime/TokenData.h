//===- TokenData.h - token corpora, the sampler and val batches -*- C++ -*-===//
//
// A data directory holds `train.bin` and `val.bin` (nanoGPT: raw uint16
// little-endian token ids) or `train.npy` and `val.npy` (integer arrays),
// and optionally `meta.json` ({"tokenizer": "bytes", "vocab_size": 256}).
//
// The sampler follows the paper's (docs/training.md, Data) at any sequence
// length T: the corpus is cut into blocks of T+1 tokens starting at multiples
// of T (input: the first T, target: the shift by one); the block order is
// shuffled per epoch from the seed; every epoch after the first shifts all
// starts by a random offset in [0, T). Validation reads fixed blocks 0, T, 2T,
// ... in order. The sampler's position is two integers, so checkpoints carry
// it.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_TOKENDATA_H
#define MSTREAM_RUNTIME_TOKENDATA_H

#include "mstream/Runtime/Tensor.h"

#include "absl/status/statusor.h"

#include <string>
#include <vector>

namespace mstream::rt {

struct TokenCorpus {
  std::string path;
  std::vector<int32_t> tokens;
};

/// Reads a .bin or .npy token file and checks every id against `vocab`.
absl::StatusOr<TokenCorpus> readTokenFile(const std::string &path,
                                          int64_t vocab);

struct DataDir {
  TokenCorpus train, val;
  /// From meta.json; "" when absent.
  std::string tokenizer;
};

/// Reads DIR/{train,val}.{bin,npy} (and meta.json) and checks that each
/// split holds at least one batch of `batch` blocks of `seq` + 1 tokens.
absl::StatusOr<DataDir> readDataDir(const std::string &dir, int64_t vocab,
                                    int64_t batch, int64_t seq);

/// Where the sampler is: the epoch and the next block of its order.
struct SamplerPosition {
  int64_t epoch = 0;
  int64_t cursor = 0;
};

class BlockSampler {
public:
  BlockSampler(const TokenCorpus &corpus, int64_t seq, uint64_t seed,
               SamplerPosition position = {});
  /// Fills tokens and targets ([batch, seq], i32) with the next blocks.
  void next(Tensor &tokens, Tensor &targets);
  SamplerPosition position() const { return position_; }

private:
  void startEpoch();
  const TokenCorpus &corpus_;
  int64_t seq_;
  uint64_t seed_;
  SamplerPosition position_;
  std::vector<int64_t> starts_;
};

/// The `index`-th validation batch: blocks index*batch ... in order.
void validationBatch(const TokenCorpus &corpus, int64_t index, Tensor &tokens,
                     Tensor &targets);
/// How many validation batches the corpus holds (at most `wanted`).
int64_t validationBatches(const TokenCorpus &corpus, int64_t batch, int64_t seq,
                          int64_t wanted);

/// The byte-level tokenizer: every byte of `textPath` is one token
/// (vocabulary 256). Writes DIR/train.bin (the first 1 - valFraction of the
/// text), DIR/val.bin (the rest) and DIR/meta.json.
absl::Status prepareByteCorpus(const std::string &textPath,
                               const std::string &outDir, double valFraction);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_TOKENDATA_H
