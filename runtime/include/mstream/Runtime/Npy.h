//===- Npy.h - NumPy .npy reading and writing -------------------*- C++ -*-===//
//
// Tokens come as int32 or int64 arrays (read as int32, range-checked);
// outputs are written as float32. C order only.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_NPY_H
#define MSTREAM_RUNTIME_NPY_H

#include "mstream/Runtime/Tensor.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mstream::rt {

/// Reads an int32/int64 array (as I32) or a float32/float64 array (as F32).
absl::StatusOr<Tensor> readNpy(const std::string &path);
absl::StatusOr<Tensor> parseNpy(absl::string_view bytes,
                                const std::string &path);

/// Writes a float32 or int32 tensor, atomically.
absl::Status writeNpy(const std::string &path, const Tensor &tensor);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_NPY_H
