//===- Safetensors.h - safetensors reading and writing ----------*- C++ -*-===//
//
// The format: an 8-byte little-endian header length, a JSON header mapping
// each name to {dtype, shape, data_offsets}, then the raw data. F32, F64,
// F16 and BF16 tensors are read as float32; files are written as F32.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_SAFETENSORS_H
#define MSTREAM_RUNTIME_SAFETENSORS_H

#include "mstream/Runtime/Tensor.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mstream::rt {

/// Tensors by name, in file order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The header's `__metadata__`: string keys and values.
using Metadata = std::map<std::string, std::string>;

/// Reads the tensors, and the metadata into `metadata` when given.
absl::StatusOr<NamedTensors> parseSafetensors(absl::string_view bytes,
                                              const std::string &path,
                                              Metadata *metadata = nullptr);
absl::StatusOr<NamedTensors> readSafetensors(const std::string &path,
                                             Metadata *metadata = nullptr);

std::string serializeSafetensors(const NamedTensors &tensors,
                                 const Metadata &metadata = {});
/// Atomic: an interrupted save never destroys an existing file at `path`.
absl::Status writeSafetensors(const std::string &path,
                              const NamedTensors &tensors,
                              const Metadata &metadata = {});

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_SAFETENSORS_H
