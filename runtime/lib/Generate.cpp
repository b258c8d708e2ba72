//===- Generate.cpp - text generation from a trained model ----------------===//

#include "mstream/Runtime/Generate.h"

#include "mstream/Runtime/Random.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace mstream::rt {

namespace {

int32_t pick(const float *logits, int64_t vocab, const GenerateOptions &options,
             uint64_t &rng) {
  if (options.temperature <= 0)
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) -
                                logits);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  int64_t keep = options.topK > 0 ? std::min(options.topK, vocab) : vocab;
  std::partial_sort(
      order.begin(), order.begin() + keep, order.end(),
      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  std::vector<double> weights(keep);
  double top = logits[order[0]];
  double total = 0;
  for (int64_t i = 0; i < keep; ++i)
    total += weights[i] =
        std::exp((logits[order[i]] - top) / options.temperature);
  double draw = uniform(rng) * total;
  for (int64_t i = 0; i < keep; ++i) {
    draw -= weights[i];
    if (draw <= 0)
      return order[i];
  }
  return order[keep - 1];
}

} // namespace

absl::StatusOr<std::vector<int32_t>>
generate(Program &program, std::vector<Tensor> &params,
         std::vector<int32_t> prompt, const GenerateOptions &options,
         const std::function<void(int32_t)> &onToken) {
  const Manifest &manifest = program.manifest();
  const EntrySpec *forward = manifest.findEntry("forward");
  if (!forward)
    return absl::FailedPreconditionError("the artifact has no forward entry");
  if (prompt.empty())
    return absl::InvalidArgumentError("the prompt is empty");
  int64_t seq = manifest.seq;
  int64_t vocab = forward->outputs[0].shape.back();
  Tensor tokens = Tensor::zeros(DType::I32, forward->inputs[0].shape);
  uint64_t rng = options.seed;
  std::vector<int32_t> text = std::move(prompt);
  for (int64_t n = 0; n < options.maxNewTokens; ++n) {
    int64_t length = std::min<int64_t>(text.size(), seq);
    std::fill(tokens.i32(), tokens.i32() + seq, 0);
    std::copy(text.end() - length, text.end(), tokens.i32());
    absl::StatusOr<std::vector<Tensor>> logits =
        program.run("forward", {&tokens}, params);
    if (!logits.ok())
      return logits.status();
    int32_t next =
        pick(logits->front().f32() + (length - 1) * vocab, vocab, options, rng);
    text.push_back(next);
    if (onToken)
      onToken(next);
  }
  return text;
}

} // namespace mstream::rt
