//===- Files.h - whole-file I/O with atomic replacement ---------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_FILES_H
#define MSTREAM_RUNTIME_FILES_H

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <string>
#include <string_view>

namespace mstream::rt {

absl::StatusOr<std::string> readFile(const std::string &path);

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it
/// over `path`: a failed or interrupted write leaves the old file intact.
absl::Status writeFileAtomically(const std::string &path,
                                 absl::string_view bytes);

/// Where temporary files go: $TMPDIR, or /tmp.
std::string temporaryDirectory();

/// Creates `path` and any missing parents (mkdir -p).
absl::Status makeDirectories(const std::string &path);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_FILES_H
