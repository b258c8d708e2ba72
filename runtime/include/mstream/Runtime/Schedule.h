//===- Schedule.h - learning-rate schedules ---------------------*- C++ -*-===//
//
// One multiplier per step applied to every group's peak lr (docs/training.md,
// Schedule): linear warmup s/W, then cosine to `minRatio` at the last step, or
// WSD (flat until `decayStart`, then linear to `minRatio`).
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_SCHEDULE_H
#define MSTREAM_RUNTIME_SCHEDULE_H

#include "absl/status/status.h"

#include <cstdint>
#include <string>

namespace mstream::rt {

struct Schedule {
  enum class Kind { Cosine, Wsd } kind = Kind::Cosine;
  int64_t steps = 1000;
  int64_t warmup = 100;
  /// WSD only.
  int64_t decayStart = 830;
  double minRatio = 0.1;

  /// The multiplier at step `s` (0-based; step 0 of a warmup has lr 0).
  double multiplier(int64_t s) const;
  absl::Status validate() const;
};

/// "cosine" or "wsd".
absl::Status parseScheduleKind(const std::string &name, Schedule::Kind &kind);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_SCHEDULE_H
