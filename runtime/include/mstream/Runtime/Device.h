//===- Device.h - the memory and execution of device artifacts --*- C++ -*-===//
//
// A cuda artifact's entries take device addresses. Program keeps every
// tensor they read on the device between calls (Tensor's device copy): a
// call uploads only what is not there yet (a token batch, the step's
// scalars, and parameters the host has changed), and reads back only its
// scalar outputs (a train step's loss and gradient norm). CallCounters say
// what each call moved and launched.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_DEVICE_H
#define MSTREAM_RUNTIME_DEVICE_H

#include "mstream/Runtime/Tensor.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <memory>
#include <string>
#include <vector>

namespace mstream::rt {

/// What one entry call moved between host and device, and launched.
struct CallCounters {
  std::string entry;
  /// Inputs staged for this call alone: token batches and scalars.
  int64_t inputBytesToDevice = 0;
  /// Tensors uploaded to stay on the device: parameters and optimizer state
  /// on the first call, and after the host changed them. A train step that
  /// follows another uploads none.
  int64_t residentBytesToDevice = 0;
  /// Outputs read back with the call (its scalars).
  int64_t bytesToHost = 0;
  /// Kernel launches and library (cuBLAS) calls the entry made, counted as
  /// it ran or as its CUDA graph was captured.
  int64_t launches = 0, libraryCalls = 0;
  /// Whether the call replayed a captured CUDA graph.
  bool graphReplay = false;
};

/// Where a device artifact's entries run.
class Device {
public:
  virtual ~Device() = default;
  virtual absl::StatusOr<std::shared_ptr<DeviceBuffer>>
  allocate(size_t bytes) = 0;
  /// Copies `buffer.bytes()` bytes from `host` into `buffer`, ordered before
  /// the next run; `host` may change once this returns.
  virtual absl::Status upload(DeviceBuffer &buffer, const void *host) = 0;

  struct Readback {
    DeviceBuffer *buffer;
    void *host;
  };
  /// Runs `entry` (a packed wrapper) on device addresses `args`, copies each
  /// readback to its host memory, and returns when all of it is done. Sets
  /// `counters`' launches, libraryCalls and graphReplay.
  virtual absl::Status run(void (*entry)(void **), std::vector<void *> &args,
                           absl::string_view entryName,
                           const std::vector<Readback> &readbacks,
                           CallCounters &counters) = 0;
};

/// A device whose memory is host memory apart from the tensors', copies
/// being memcpy: a CPU artifact's entries run through the same residency
/// logic as a GPU's, so its transfers are counted and tested on any machine
/// (MSTREAM_SIMULATE_DEVICE=1 when loading a cpu artifact).
std::unique_ptr<Device> makeSimulatedDevice();

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_DEVICE_H
