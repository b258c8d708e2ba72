//===- Files.cpp - whole-file I/O with atomic replacement -----------------===//

#include "mstream/Runtime/Files.h"

#include "absl/strings/str_cat.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mstream::rt {

static absl::Status ioError(absl::string_view what, const std::string &path) {
  return absl::NotFoundError(
      absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(errno)));
}

absl::StatusOr<std::string> readFile(const std::string &path) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return ioError("open", path);
  std::string bytes;
  char buffer[1 << 16];
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    bytes.append(buffer, count);
  bool failed = std::ferror(file);
  std::fclose(file);
  if (failed)
    return ioError("read", path);
  return bytes;
}

absl::Status writeFileAtomically(const std::string &path,
                                 absl::string_view bytes) {
  std::string temp = absl::StrCat(path, ".tmp.", getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return ioError("create", temp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      absl::Status status = ioError("write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    absl::Status status = ioError("sync", temp);
    ::unlink(temp.c_str());
    return status;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status status = ioError("rename over", path);
    ::unlink(temp.c_str());
    return status;
  }
  return absl::OkStatus();
}

std::string temporaryDirectory() {
  const char *dir = std::getenv("TMPDIR");
  return dir ? dir : "/tmp";
}

absl::Status makeDirectories(const std::string &path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create the directory ", prefix, ": ", std::strerror(errno)));
    if (slash == std::string::npos)
      return absl::OkStatus();
  }
}

} // namespace mstream::rt
