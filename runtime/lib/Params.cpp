//===- Params.cpp - initialising and binding model parameters -------------===//

#include "mstream/Runtime/Params.h"
#include "mstream/Runtime/Random.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

#include <cmath>

namespace mstream::rt {

NamedTensors initParams(const std::vector<ParamSpec> &table, uint64_t seed) {
  NamedTensors params;
  for (size_t index = 0; index < table.size(); ++index) {
    const ParamSpec &spec = table[index];
    Tensor tensor = Tensor::zeros(DType::F32, spec.shape);
    float *data = tensor.f32();
    int64_t count = tensor.numElements();
    if (spec.init == InitRule::Constant) {
      for (int64_t i = 0; i < count; ++i)
        data[i] = static_cast<float>(spec.initValue);
    } else {
      uint64_t state = seed * 0x9e3779b97f4a7c15ull + index;
      for (int64_t i = 0; i < count; i += 2) {
        double radius = std::sqrt(-2.0 * std::log(uniform(state)));
        double angle = 2.0 * M_PI * uniform(state);
        data[i] = static_cast<float>(spec.initValue * radius * std::cos(angle));
        if (i + 1 < count)
          data[i + 1] =
              static_cast<float>(spec.initValue * radius * std::sin(angle));
      }
    }
    params.emplace_back(spec.name, std::move(tensor));
  }
  return params;
}

absl::StatusOr<std::vector<Tensor>>
bindParams(const std::vector<ParamSpec> &table, NamedTensors loaded,
           const std::string &source) {
  absl::flat_hash_map<std::string, size_t> byName;
  for (size_t i = 0; i < table.size(); ++i)
    byName[table[i].name] = i;
  std::vector<Tensor> bound(table.size());
  std::vector<bool> seen(table.size(), false);
  for (auto &[rawName, tensor] : loaded) {
    std::string name(absl::StripPrefix(rawName, "_orig_mod."));
    auto it = byName.find(name);
    if (it == byName.end())
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": unexpected tensor '", rawName, "' ",
          formatShape(tensor.shape), ": not a parameter of this model"));
    const ParamSpec &spec = table[it->second];
    if (tensor.shape != spec.shape)
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": tensor '", rawName, "' has shape ",
                       formatShape(tensor.shape), " but the model expects ",
                       formatShape(spec.shape)));
    if (seen[it->second])
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": parameter '", name, "' appears twice"));
    // A NaN or infinity would only show as a NaN loss steps later.
    if (tensor.dtype == DType::F32) {
      const float *values = tensor.f32();
      for (int64_t i = 0; i < tensor.numElements(); ++i)
        if (!std::isfinite(values[i]))
          return absl::InvalidArgumentError(absl::StrCat(
              source, ": tensor '", rawName, "' holds ", values[i],
              " at flat index ", i, ": parameters must be finite"));
    }
    seen[it->second] = true;
    bound[it->second] = std::move(tensor);
  }
  for (size_t i = 0; i < table.size(); ++i)
    if (!seen[i])
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": missing parameter '", table[i].name, "' ",
                       formatShape(table[i].shape)));
  return bound;
}

NamedTensors nameParams(const std::vector<ParamSpec> &table,
                        std::vector<Tensor> values) {
  NamedTensors named;
  for (size_t i = 0; i < table.size(); ++i)
    named.emplace_back(table[i].name, std::move(values[i]));
  return named;
}

} // namespace mstream::rt
