//===- SimulatedDevice.cpp - a device made of separate host memory --------===//

#include "mstream/Runtime/Denormals.h"
#include "mstream/Runtime/Device.h"

#include <cstring>

namespace mstream::rt {

namespace {

class HostBuffer final : public DeviceBuffer {
public:
  explicit HostBuffer(size_t bytes) : memory_((bytes + 3) / 4), bytes_(bytes) {}
  void *address() const override {
    return const_cast<uint32_t *>(memory_.data());
  }
  size_t bytes() const override { return bytes_; }
  absl::Status download(void *host) override {
    std::memcpy(host, memory_.data(), bytes_);
    return absl::OkStatus();
  }
  void upload(const void *host) { std::memcpy(memory_.data(), host, bytes_); }

private:
  std::vector<uint32_t> memory_;
  size_t bytes_;
};

class SimulatedDevice final : public Device {
public:
  absl::StatusOr<std::shared_ptr<DeviceBuffer>>
  allocate(size_t bytes) override {
    return std::make_shared<HostBuffer>(bytes);
  }
  absl::Status upload(DeviceBuffer &buffer, const void *host) override {
    static_cast<HostBuffer &>(buffer).upload(host);
    return absl::OkStatus();
  }
  absl::Status run(void (*entry)(void **), std::vector<void *> &args,
                   absl::string_view, const std::vector<Readback> &readbacks,
                   CallCounters &) override {
    {
      ScopedFlushDenormals flush;
      entry(args.data());
    }
    for (const Readback &readback : readbacks)
      if (absl::Status status = readback.buffer->download(readback.host);
          !status.ok())
        return status;
    return absl::OkStatus();
  }
};

} // namespace

std::unique_ptr<Device> makeSimulatedDevice() {
  return std::make_unique<SimulatedDevice>();
}

} // namespace mstream::rt
