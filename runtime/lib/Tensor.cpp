//===- Tensor.cpp - host tensors of the runtime ---------------------------===//

#include "mstream/Runtime/Tensor.h"

#include "absl/strings/str_join.h"

#include <functional>
#include <numeric>

namespace mstream::rt {

Tensor Tensor::zeros(DType dtype, std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.storage.assign(tensor.numElements(), 0);
  return tensor;
}

int64_t Tensor::numElements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<>());
}

std::string formatShape(const std::vector<int64_t> &shape) {
  return "[" + absl::StrJoin(shape, ", ") + "]";
}

const char *dtypeName(DType dtype) {
  return dtype == DType::F32 ? "float32" : "int32";
}

} // namespace mstream::rt
