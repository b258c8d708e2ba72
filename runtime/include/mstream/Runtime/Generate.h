//===- Generate.h - text generation from a trained model --------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_GENERATE_H
#define MSTREAM_RUNTIME_GENERATE_H

#include "mstream/Runtime/Program.h"

namespace mstream::rt {

struct GenerateOptions {
  int64_t maxNewTokens = 200;
  /// 0 is greedy (argmax).
  double temperature = 0.8;
  /// Sample among the k most likely tokens; 0 keeps all.
  int64_t topK = 0;
  uint64_t seed = 0;
};

/// Extends `prompt` one token at a time with `program`'s forward entry
/// (batch row 0). The window is the artifact's sequence length; a longer
/// context keeps its most recent tokens. Causality makes the zero padding
/// after the context invisible to the logits read.
absl::StatusOr<std::vector<int32_t>>
generate(Program &program, std::vector<Tensor> &params,
         std::vector<int32_t> prompt, const GenerateOptions &options,
         const std::function<void(int32_t)> &onToken = nullptr);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_GENERATE_H
