//===- Tensor.h - tensors of the runtime ------------------------*- C++ -*-===//
//
// A tensor lives on the host, and may also have a copy in a device's memory
// (a GPU's) that the entries of a device artifact read and write in place.
// Reading the host data of a tensor whose newest copy is on the device
// copies it back first; writing the host data drops the device copy, so the
// next call uploads the new values. Nothing else moves data: a train step's
// outputs stay on the device and become the next step's inputs.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_TENSOR_H
#define MSTREAM_RUNTIME_TENSOR_H

#include "absl/status/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mstream::rt {

enum class DType { F32, I32 };

/// A buffer in a device's memory (runtime/include/mstream/Runtime/Device.h).
class DeviceBuffer {
public:
  virtual ~DeviceBuffer() = default;
  /// The address generated code receives.
  virtual void *address() const = 0;
  virtual size_t bytes() const = 0;
  /// Copies the whole buffer to `host` and waits for the copy.
  virtual absl::Status download(void *host) = 0;
};

/// A dense row-major tensor of 4-byte elements.
class Tensor {
public:
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  Tensor() = default;
  /// A copy is a host tensor: the device copy stays with `other`.
  Tensor(const Tensor &other);
  Tensor &operator=(const Tensor &other);
  /// A moved-from tensor is empty and on the host.
  Tensor(Tensor &&other) noexcept;
  Tensor &operator=(Tensor &&other) noexcept;

  static Tensor zeros(DType dtype, std::vector<int64_t> shape);
  /// A tensor whose only copy is `buffer` (an entry's output).
  static Tensor onDevice(DType dtype, std::vector<int64_t> shape,
                         std::shared_ptr<DeviceBuffer> buffer);

  int64_t numElements() const;
  size_t numBytes() const { return static_cast<size_t>(numElements()) * 4; }

  /// The host data, copied back from the device first where needed; the
  /// mutable accessors drop the device copy (the caller may write).
  const std::vector<uint32_t> &host() const;
  std::vector<uint32_t> &host();
  float *f32() { return reinterpret_cast<float *>(host().data()); }
  const float *f32() const {
    return reinterpret_cast<const float *>(host().data());
  }
  int32_t *i32() { return reinterpret_cast<int32_t *>(host().data()); }
  const int32_t *i32() const {
    return reinterpret_cast<const int32_t *>(host().data());
  }
  void *data() { return host().data(); }

  /// The device copy, null if there is none.
  const std::shared_ptr<DeviceBuffer> &device() const { return device_; }
  /// Keeps `buffer`, which holds the same values as the host data, as the
  /// device copy (a cache: the host data stays valid, hence const).
  void cacheOnDevice(std::shared_ptr<DeviceBuffer> buffer) const;
  /// Whether the host data is current (false: only the device copy is).
  bool hostIsCurrent() const { return !hostStale_; }
  /// Marks the host data current after the caller has written the device
  /// copy's values into it (a batched read-back of small outputs).
  void markHostCurrent() const { hostStale_ = false; }
  /// The host storage to fill in place of a download (see markHostCurrent);
  /// sized, not read.
  uint32_t *hostBufferForReadback() const;

private:
  mutable std::vector<uint32_t> storage_;
  mutable std::shared_ptr<DeviceBuffer> device_;
  mutable bool hostStale_ = false;
};

/// "[2, 8, 16]".
std::string formatShape(const std::vector<int64_t> &shape);
const char *dtypeName(DType dtype);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_TENSOR_H
