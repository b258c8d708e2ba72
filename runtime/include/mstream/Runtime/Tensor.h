//===- Tensor.h - host tensors of the runtime -------------------*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_TENSOR_H
#define MSTREAM_RUNTIME_TENSOR_H

#include <cstdint>
#include <string>
#include <vector>

namespace mstream::rt {

enum class DType { F32, I32 };

/// A dense row-major host tensor; the data is 4-byte aligned storage.
struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint32_t> storage;

  static Tensor zeros(DType dtype, std::vector<int64_t> shape);
  int64_t numElements() const;
  float *f32() { return reinterpret_cast<float *>(storage.data()); }
  const float *f32() const {
    return reinterpret_cast<const float *>(storage.data());
  }
  int32_t *i32() { return reinterpret_cast<int32_t *>(storage.data()); }
  const int32_t *i32() const {
    return reinterpret_cast<const int32_t *>(storage.data());
  }
  void *data() { return storage.data(); }
};

/// "[2, 8, 16]".
std::string formatShape(const std::vector<int64_t> &shape);
const char *dtypeName(DType dtype);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_TENSOR_H
