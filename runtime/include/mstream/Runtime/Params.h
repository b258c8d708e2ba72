//===- Params.h - initialising and binding model parameters -----*- C++ -*-===//

#ifndef MSTREAM_RUNTIME_PARAMS_H
#define MSTREAM_RUNTIME_PARAMS_H

#include "mstream/Model/ParamTable.h"
#include "mstream/Runtime/Safetensors.h"

#include "absl/status/statusor.h"

namespace mstream::rt {

/// The init of docs/models.md: N(0, std²) or a constant per the table.
/// Deterministic in (seed, parameter index): SplitMix64 streams with Box-Muller
/// normals.
NamedTensors initParams(const std::vector<ParamSpec> &table, uint64_t seed);

/// Orders `loaded` by the table, checking that every parameter is present
/// with its shape and nothing else is. Names may carry torch.compile's
/// "_orig_mod." prefix. `source` names the file in errors.
absl::StatusOr<std::vector<Tensor>>
bindParams(const std::vector<ParamSpec> &table, NamedTensors loaded,
           const std::string &source);

/// The table's tensors with their names, for saving.
NamedTensors nameParams(const std::vector<ParamSpec> &table,
                        std::vector<Tensor> values);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_PARAMS_H
