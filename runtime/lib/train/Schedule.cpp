//===- Schedule.cpp - learning-rate schedules -----------------------------===//

#include "mstream/Runtime/Schedule.h"

#include "absl/strings/str_format.h"

#include <cmath>

namespace mstream::rt {

double Schedule::multiplier(int64_t s) const {
  if (s < warmup)
    return static_cast<double>(s) / static_cast<double>(warmup);
  if (kind == Kind::Wsd) {
    if (s < decayStart)
      return 1.0;
    return 1.0 - (1.0 - minRatio) * static_cast<double>(s - decayStart) /
                     static_cast<double>(steps - decayStart);
  }
  double progress =
      static_cast<double>(s - warmup) / static_cast<double>(steps - warmup);
  return minRatio + (1.0 - minRatio) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

absl::Status Schedule::validate() const {
  if (steps < 1)
    return absl::InvalidArgumentError(
        absl::StrFormat("--steps must be at least 1, got %d", steps));
  if (warmup < 0 || warmup >= steps)
    return absl::InvalidArgumentError(absl::StrFormat(
        "--warmup must lie in [0, steps = %d), got %d", steps, warmup));
  if (kind == Kind::Wsd && (decayStart < warmup || decayStart >= steps))
    return absl::InvalidArgumentError(absl::StrFormat(
        "--decay-start must lie in [warmup = %d, steps = %d), got %d", warmup,
        steps, decayStart));
  return absl::OkStatus();
}

absl::Status parseScheduleKind(const std::string &name, Schedule::Kind &kind) {
  if (name == "cosine")
    kind = Schedule::Kind::Cosine;
  else if (name == "wsd")
    kind = Schedule::Kind::Wsd;
  else
    return absl::InvalidArgumentError(
        absl::StrFormat("--schedule must be cosine or wsd, got '%s'", name));
  return absl::OkStatus();
}

} // namespace mstream::rt
