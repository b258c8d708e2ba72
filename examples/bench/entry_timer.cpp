//===- entry_timer.cpp - time one entry point of an artifact --------------===//
//
//   mstream-bench-entry MODEL.mstream W.safetensors ENTRY REPEATS
//
// Loads the artifact and weights once, runs ENTRY on random in-vocabulary
// tokens once to warm up, then REPEATS times; prints one JSON line with the
// median and minimum milliseconds per call.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/Program.h"

#include "absl/strings/numbers.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

using namespace mstream::rt;

int main(int argc, char **argv) {
  int repeats = 0;
  if (argc != 5 || !absl::SimpleAtoi(argv[4], &repeats) || repeats < 1) {
    std::fprintf(stderr,
                 "usage: %s MODEL.mstream W.safetensors ENTRY REPEATS\n",
                 argv[0]);
    return 2;
  }
  auto fail = [](const absl::Status &status) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
    return 1;
  };
  absl::StatusOr<std::unique_ptr<Program>> program = Program::load(argv[1]);
  if (!program.ok())
    return fail(program.status());
  const Manifest &manifest = (*program)->manifest();
  absl::StatusOr<NamedTensors> loaded = readSafetensors(argv[2]);
  if (!loaded.ok())
    return fail(loaded.status());
  absl::StatusOr<std::vector<Tensor>> params =
      bindParams(manifest.params, std::move(*loaded), argv[2]);
  if (!params.ok())
    return fail(params.status());
  const EntrySpec *entry = manifest.findEntry(argv[3]);
  if (!entry)
    return fail(absl::NotFoundError(argv[3]));

  int64_t vocab = 0;
  (void)absl::SimpleAtoi(manifest.modelValue("vocab_size"), &vocab);
  std::mt19937 rng(0);
  std::vector<Tensor> inputs;
  for (const ArgSpec &spec : entry->inputs) {
    inputs.push_back(Tensor::zeros(spec.dtype, spec.shape));
    for (int64_t i = 0; i < inputs.back().numElements(); ++i)
      inputs.back().i32()[i] = static_cast<int32_t>(rng() % vocab);
  }
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : inputs)
    pointers.push_back(&t);

  std::vector<double> times;
  for (int i = 0; i <= repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<Tensor>> out =
        (*program)->run(argv[3], pointers, *params);
    auto stop = std::chrono::steady_clock::now();
    if (!out.ok())
      return fail(out.status());
    if (i > 0)
      times.push_back(
          std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"median_ms\": %.3f, \"min_ms\": %.3f, \"repeats\": %d}\n",
              times[times.size() / 2], times.front(), repeats);
  return 0;
}
