//===- NoCuda.cpp - the CUDA entry points of a runtime built without it ---===//

#include "mstream/Runtime/Cuda.h"

namespace mstream::rt::cuda {

namespace {
absl::Status unavailable() {
  return absl::FailedPreconditionError(
      "this mstream runtime was built without the CUDA toolkit; rebuild it "
      "where CMake finds CUDA to run cuda artifacts");
}
} // namespace

bool builtWithCuda() { return false; }
absl::Status requireDevice(absl::string_view) { return unavailable(); }
absl::StatusOr<std::unique_ptr<Device>> openDevice(absl::string_view) {
  return unavailable();
}
absl::Status takeError() { return absl::OkStatus(); }

} // namespace mstream::rt::cuda
