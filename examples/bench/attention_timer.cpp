//===- attention_timer.cpp - time the runtime's flash attention kernels ---===//
//
//   mstream-bench-attention BATCH HEADS SEQ HEAD_DIM fp32|bf16 REPEATS
//
// Runs mstream_flash_attention and mstream_flash_attention_grad, the calls
// a CPU train step makes for one layer's attention core, on random inputs
// of [BATCH * HEADS, SEQ, HEAD_DIM]; once to warm up, then REPEATS times.
// Prints one JSON line with the median milliseconds of each.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/FlashAttention.h"

#include "absl/strings/numbers.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

double medianMs(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int64_t address(const void *data) { return reinterpret_cast<int64_t>(data); }

} // namespace

int main(int argc, char **argv) {
  int64_t batch = 0, heads = 0, seq = 0, dim = 0, repeats = 0;
  std::string precision = argc == 7 ? argv[5] : "";
  if (argc != 7 || !absl::SimpleAtoi(argv[1], &batch) ||
      !absl::SimpleAtoi(argv[2], &heads) || !absl::SimpleAtoi(argv[3], &seq) ||
      !absl::SimpleAtoi(argv[4], &dim) ||
      !absl::SimpleAtoi(argv[6], &repeats) ||
      std::min({batch, heads, seq, dim, repeats}) < 1 ||
      (precision != "fp32" && precision != "bf16")) {
    std::fprintf(stderr,
                 "usage: %s BATCH HEADS SEQ HEAD_DIM fp32|bf16 REPEATS\n",
                 argv[0]);
    return 2;
  }
  bool bf16 = precision == "bf16";
  int64_t n = batch * heads, size = n * seq * dim;
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  // Inputs as the step stores them: f32, or bf16 bits (the upper halves).
  std::vector<float> inputs(4 * size);
  for (float &value : inputs)
    value = normal(gen);
  std::vector<uint16_t> halves(4 * size);
  for (int64_t i = 0; i < 4 * size; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &inputs[i], sizeof(bits));
    halves[i] = uint16_t(bits >> 16);
  }
  auto input = [&](int64_t which) {
    return bf16 ? address(halves.data() + which * size)
                : address(inputs.data() + which * size);
  };
  std::vector<float> out(size), lse(n * seq), dq(size), dk(size), dv(size);
  double scale = 1.0 / std::sqrt(double(dim));
  auto forward = [&] {
    mstream_flash_attention(bf16, n, seq, dim, scale, input(0), dim, seq * dim,
                            input(1), dim, seq * dim, input(2), dim, seq * dim,
                            address(out.data()), dim, seq * dim,
                            address(lse.data()), 1, seq);
  };
  auto backward = [&] {
    mstream_flash_attention_grad(
        bf16, n, seq, dim, scale, input(0), dim, seq * dim, input(1), dim,
        seq * dim, input(2), dim, seq * dim, address(out.data()), dim,
        seq * dim, input(3), dim, seq * dim, address(lse.data()), 1, seq,
        address(dq.data()), dim, seq * dim, address(dk.data()), dim, seq * dim,
        address(dv.data()), dim, seq * dim);
  };
  auto time = [](auto &&call) {
    auto start = std::chrono::steady_clock::now();
    call();
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  forward();
  backward();
  std::vector<double> forwardMs, backwardMs;
  for (int64_t i = 0; i < repeats; ++i) {
    forwardMs.push_back(time(forward));
    backwardMs.push_back(time(backward));
  }
  std::printf("{\"forward_ms\": %.3f, \"backward_ms\": %.3f}\n",
              medianMs(forwardMs), medianMs(backwardMs));
  return 0;
}
