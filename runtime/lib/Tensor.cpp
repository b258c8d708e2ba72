//===- Tensor.cpp - tensors of the runtime --------------------------------===//

#include "mstream/Runtime/Tensor.h"

#include "absl/strings/str_join.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <utility>

namespace mstream::rt {

Tensor::Tensor(const Tensor &other)
    : dtype(other.dtype), shape(other.shape), storage_(other.host()) {}

Tensor &Tensor::operator=(const Tensor &other) {
  if (this != &other) {
    dtype = other.dtype;
    shape = other.shape;
    storage_ = other.host();
    device_.reset();
    hostStale_ = false;
  }
  return *this;
}

Tensor::Tensor(Tensor &&other) noexcept
    : dtype(other.dtype), shape(std::move(other.shape)),
      storage_(std::move(other.storage_)), device_(std::move(other.device_)),
      hostStale_(std::exchange(other.hostStale_, false)) {
  other.storage_.clear();
  other.shape.clear();
}

Tensor &Tensor::operator=(Tensor &&other) noexcept {
  if (this != &other) {
    dtype = other.dtype;
    shape = std::move(other.shape);
    storage_ = std::move(other.storage_);
    device_ = std::move(other.device_);
    hostStale_ = std::exchange(other.hostStale_, false);
    other.storage_.clear();
    other.shape.clear();
  }
  return *this;
}

Tensor Tensor::zeros(DType dtype, std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.storage_.assign(tensor.numElements(), 0);
  return tensor;
}

Tensor Tensor::onDevice(DType dtype, std::vector<int64_t> shape,
                        std::shared_ptr<DeviceBuffer> buffer) {
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.device_ = std::move(buffer);
  tensor.hostStale_ = true;
  return tensor;
}

int64_t Tensor::numElements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<>());
}

const std::vector<uint32_t> &Tensor::host() const {
  if (hostStale_) {
    absl::Status status = device_->download(hostBufferForReadback());
    // The call that wrote the buffer has already reported its errors: a copy
    // failing now means the device itself was lost, and no host value left
    // would be right.
    if (!status.ok()) {
      std::fprintf(stderr,
                   "mstream: cannot copy a tensor from the device: %s\n",
                   std::string(status.message()).c_str());
      std::abort();
    }
    hostStale_ = false;
  }
  return storage_;
}

std::vector<uint32_t> &Tensor::host() {
  static_cast<const Tensor *>(this)->host();
  device_.reset();
  return storage_;
}

void Tensor::cacheOnDevice(std::shared_ptr<DeviceBuffer> buffer) const {
  device_ = std::move(buffer);
  hostStale_ = false;
}

uint32_t *Tensor::hostBufferForReadback() const {
  storage_.resize(numElements());
  return storage_.data();
}

std::string formatShape(const std::vector<int64_t> &shape) {
  return "[" + absl::StrJoin(shape, ", ") + "]";
}

const char *dtypeName(DType dtype) {
  return dtype == DType::F32 ? "float32" : "int32";
}

} // namespace mstream::rt
