//===- HostIsa.cpp - the instruction sets host code is built for ---------===//

#include "mstream/Runtime/HostIsa.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include <algorithm>

namespace mstream::rt {

namespace {

/// What a CPU needs for `isa`'s code, or "" for none; isa is one of
/// hostIsas().
const char *missing(absl::string_view isa, const CpuFeatures &features) {
  if (isa == "portable")
    return "";
  if (!features.avx2 || !features.fma)
    return "AVX2 and FMA";
  if (isa == "avx512" && !features.avx512)
    return "AVX-512 F, BW, DQ and VL";
  return "";
}

bool isKnown(absl::string_view isa) {
  const std::vector<std::string> &isas = hostIsas();
  return std::find(isas.begin(), isas.end(), isa) != isas.end();
}

/// The known instruction sets, for messages.
std::string knownList() { return absl::StrJoin(hostIsas(), ", "); }

} // namespace

const std::vector<std::string> &hostIsas() {
#if defined(__x86_64__)
  static const std::vector<std::string> isas = {"portable", "avx2", "avx512"};
#else
  static const std::vector<std::string> isas = {"portable"};
#endif
  return isas;
}

std::string bestHostIsa(const CpuFeatures &features) {
  const std::vector<std::string> &isas = hostIsas();
  auto best = std::find_if(isas.rbegin(), isas.rend(), [&](const auto &isa) {
    return *missing(isa, features) == '\0';
  });
  return *best;
}

absl::StatusOr<std::string> resolveHostIsa(absl::string_view name) {
  if (name == "native")
    return bestHostIsa();
  if (!isKnown(name))
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown host CPU '", name, "'; expected native or ", knownList()));
  return std::string(name);
}

absl::StatusOr<std::vector<std::string>>
resolveHostIsas(absl::string_view names) {
  if (names == "all")
    return hostIsas();
  std::vector<std::string> named;
  for (absl::string_view name : absl::StrSplit(names, ',')) {
    absl::StatusOr<std::string> isa = resolveHostIsa(name);
    if (!isa.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("unknown host CPU '", name, "'",
                       name == names ? "" : absl::StrCat(" in '", names, "'"),
                       "; expected all, or a comma-separated list of native, ",
                       knownList()));
    named.push_back(*std::move(isa));
  }
  // hostIsas() order, each once.
  std::vector<std::string> isas;
  for (const std::string &isa : hostIsas())
    if (std::find(named.begin(), named.end(), isa) != named.end())
      isas.push_back(isa);
  return isas;
}

std::string hostIsaProblem(absl::string_view isa, const CpuFeatures &features) {
  if (!isKnown(isa))
    return absl::StrCat("its host code is built for '", isa,
                        "', which this runtime does not know (it runs ",
                        knownList(), ")");
  if (const char *needs = missing(isa, features); *needs)
    return absl::StrCat("its host code is built for ", isa, ", which needs ",
                        needs,
                        ", and this CPU lacks them; recompile with "
                        "--host-cpu=portable (Python: host_cpu=\"portable\")");
  return "";
}

} // namespace mstream::rt
