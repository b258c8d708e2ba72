//===- Artifact.cpp - the compiled-model file format ----------------------===//

#include "mstream/Runtime/Artifact.h"
#include "mstream/Runtime/HostIsa.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include <cassert>

namespace mstream::rt {

const char *runtimeVersion() { return MSTREAM_VERSION; }

static const char *hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

std::string hostTarget() { return absl::StrCat("cpu-", hostArch()); }

std::string cudaTarget(absl::string_view chip) {
  return absl::StrCat("cuda-", chip, "-", hostArch());
}

std::string cudaChipOf(absl::string_view target) {
  std::vector<absl::string_view> parts = absl::StrSplit(target, '-');
  if (parts.size() != 3 || parts[0] != "cuda" || parts[2] != hostArch())
    return "";
  return std::string(parts[1]);
}

namespace {
std::string lookup(const std::vector<std::pair<std::string, std::string>> &kv,
                   absl::string_view key) {
  for (const auto &[name, value] : kv)
    if (name == key)
      return value;
  return "";
}
} // namespace

std::string Manifest::modelValue(absl::string_view key) const {
  return lookup(model, key);
}

std::string Manifest::optimizerValue(absl::string_view key) const {
  return lookup(optimizer, key);
}

const EntrySpec *Manifest::findEntry(absl::string_view name) const {
  for (const EntrySpec &entry : entries)
    if (entry.name == name)
      return &entry;
  return nullptr;
}

namespace {

constexpr absl::string_view kMagic = "MSTREAMA";

std::string formatDims(const std::vector<int64_t> &shape) {
  return shape.empty() ? "-" : absl::StrJoin(shape, ",");
}

bool parseDims(absl::string_view text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text == "-")
    return true;
  for (absl::string_view dim : absl::StrSplit(text, ',')) {
    int64_t size;
    if (!absl::SimpleAtoi(dim, &size) || size < 0)
      return false;
    shape.push_back(size);
  }
  return true;
}

void appendLittle(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t readLittle(absl::string_view bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

constexpr std::pair<InitRule, absl::string_view> kInitNames[] = {
    {InitRule::Normal, "normal"}, {InitRule::Constant, "constant"}};
constexpr std::pair<ParamGroup, absl::string_view> kGroupNames[] = {
    {ParamGroup::Scalar, "scalar"},
    {ParamGroup::LayerNormGain, "layernorm"},
    {ParamGroup::Embedding, "embedding"},
    {ParamGroup::Matrix, "matrix"}};

template <typename E, size_t N>
absl::string_view nameOf(const std::pair<E, absl::string_view> (&names)[N],
                         E value) {
  for (const auto &[e, name] : names)
    if (e == value)
      return name;
  return "?";
}

template <typename E, size_t N>
bool valueOf(const std::pair<E, absl::string_view> (&names)[N],
             absl::string_view name, E &value) {
  for (const auto &[e, text] : names)
    if (text == name) {
      value = e;
      return true;
    }
  return false;
}

uint64_t fnv1a(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

} // namespace

std::string serializeManifest(const Manifest &m) {
  std::string out =
      absl::StrCat("compiler ", m.compilerVersion, "\n", "target ", m.target,
                   "\n", "host_isa ", absl::StrJoin(m.hostIsas, " "), "\n",
                   "precision ", m.precision, "\n");
  for (const auto &[key, value] : m.model)
    absl::StrAppend(&out, "model ", key, " ", value, "\n");
  for (const auto &[key, value] : m.optimizer)
    absl::StrAppend(&out, "optimizer ", key, " ", value, "\n");
  absl::StrAppend(&out, "batch ", m.batch, "\nseq ", m.seq, "\n");
  for (const mstream::ParamSpec &p : m.params)
    absl::StrAppend(&out, "param ", p.name, " ", formatDims(p.shape), " ",
                    nameOf(kInitNames, p.init), " ",
                    absl::StrFormat("%.17g", p.initValue), " ",
                    nameOf(kGroupNames, p.group), "\n");
  for (const EntrySpec &e : m.entries) {
    absl::StrAppend(&out, "entry ", e.name, "\n");
    for (const ArgSpec &a : e.inputs)
      absl::StrAppend(&out, "input ", a.name, " ",
                      a.dtype == DType::F32 ? "f32" : "i32", " ",
                      formatDims(a.shape), "\n");
    for (const ArgSpec &a : e.outputs)
      absl::StrAppend(&out, "output ", a.name, " ",
                      a.dtype == DType::F32 ? "f32" : "i32", " ",
                      formatDims(a.shape), "\n");
  }
  return out;
}

absl::StatusOr<Manifest> parseManifest(absl::string_view text) {
  Manifest m;
  m.precision.clear();
  int lineNumber = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++lineNumber;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto bad = [&] {
      return absl::DataLossError(
          absl::StrFormat("corrupt manifest line %d: '%s'", lineNumber, line));
    };
    const absl::string_view kind = f[0];
    if (kind == "compiler" && f.size() == 2) {
      m.compilerVersion = std::string(f[1]);
    } else if (kind == "target" && f.size() == 2) {
      m.target = std::string(f[1]);
    } else if (kind == "host_isa" && f.size() >= 2) {
      m.hostIsas.clear();
      for (size_t i = 1; i < f.size(); ++i)
        m.hostIsas.emplace_back(f[i]);
    } else if (kind == "precision" && f.size() == 2 &&
               (f[1] == "fp32" || f[1] == "bf16")) {
      m.precision = std::string(f[1]);
    } else if (kind == "model" && f.size() == 3) {
      m.model.emplace_back(std::string(f[1]), std::string(f[2]));
    } else if (kind == "optimizer" && f.size() == 3) {
      m.optimizer.emplace_back(std::string(f[1]), std::string(f[2]));
    } else if ((kind == "batch" || kind == "seq") && f.size() == 2) {
      if (!absl::SimpleAtoi(f[1], kind == "batch" ? &m.batch : &m.seq))
        return bad();
    } else if (kind == "param" && f.size() == 6) {
      mstream::ParamSpec p;
      p.name = std::string(f[1]);
      if (!parseDims(f[2], p.shape) || !valueOf(kInitNames, f[3], p.init) ||
          !absl::SimpleAtod(f[4], &p.initValue) ||
          !valueOf(kGroupNames, f[5], p.group))
        return bad();
      m.params.push_back(std::move(p));
    } else if (kind == "entry" && f.size() == 2) {
      m.entries.push_back({std::string(f[1]), {}, {}});
    } else if ((kind == "input" || kind == "output") && f.size() == 4 &&
               !m.entries.empty() && (f[2] == "f32" || f[2] == "i32")) {
      ArgSpec a;
      a.name = std::string(f[1]);
      a.dtype = f[2] == "f32" ? DType::F32 : DType::I32;
      if (!parseDims(f[3], a.shape))
        return bad();
      (kind == "input" ? m.entries.back().inputs : m.entries.back().outputs)
          .push_back(std::move(a));
    } else {
      return bad();
    }
  }
  // Loading never guesses what an artifact computes in.
  if (m.precision.empty())
    return absl::DataLossError("corrupt manifest: no precision line");
  return m;
}

std::string serializeArtifact(const Manifest &manifest,
                              const std::vector<std::string> &objects) {
  assert(objects.size() == manifest.hostIsas.size() &&
         "one host object per instruction set");
  std::string text = serializeManifest(manifest);
  std::string out(kMagic);
  appendLittle(out, kArtifactFormat, 4);
  appendLittle(out, 0, 4);
  appendLittle(out, text.size(), 8);
  out += text;
  for (const std::string &object : objects) {
    appendLittle(out, object.size(), 8);
    out += object;
  }
  appendLittle(out, fnv1a(out), 8);
  return out;
}

absl::StatusOr<ArtifactContents> parseArtifact(absl::string_view bytes,
                                               const std::string &path) {
  auto fail = [&](absl::string_view message) {
    return absl::DataLossError(absl::StrCat(path, ": ", message));
  };
  if (bytes.size() < 8 || bytes.substr(0, 8) != kMagic)
    return fail("not an mstream artifact (bad magic); compile one with "
                "'mstream compile CONFIG.json --target=cpu -o FILE'");
  if (bytes.size() < 32)
    return fail("truncated artifact");
  uint64_t format = readLittle(bytes, 8, 4);
  if (format != kArtifactFormat)
    return fail(absl::StrFormat("artifact format %d, but this runtime reads "
                                "format %d; recompile the model",
                                format, kArtifactFormat));
  uint64_t checksum = readLittle(bytes, bytes.size() - 8, 8);
  if (checksum != fnv1a(bytes.substr(0, bytes.size() - 8)))
    return fail("checksum mismatch: the artifact is corrupted or truncated");
  uint64_t manifestSize = readLittle(bytes, 16, 8);
  if (manifestSize > bytes.size() - 32)
    return fail("truncated manifest");
  absl::StatusOr<Manifest> parsed =
      parseManifest(bytes.substr(24, manifestSize));
  if (!parsed.ok())
    return fail(parsed.status().message());
  // The host objects, one per instruction set, fill the file up to its
  // checksum.
  std::vector<absl::string_view> objects;
  size_t at = 24 + manifestSize;
  const size_t end = bytes.size() - 8;
  for (size_t i = 0; i < parsed->hostIsas.size(); ++i) {
    if (at + 8 > end)
      return fail("truncated object");
    uint64_t size = readLittle(bytes, at, 8);
    if (size > end - at - 8)
      return fail("truncated object");
    objects.push_back(bytes.substr(at + 8, size));
    at += 8 + size;
  }
  if (at != end)
    return fail("object sizes do not match the file (truncated?)");

  if (parsed->compilerVersion != runtimeVersion())
    return fail(absl::StrCat("compiled by mstream ", parsed->compilerVersion,
                             " but this runtime is ", runtimeVersion(),
                             "; recompile the model"));
  if (parsed->target != hostTarget() && cudaChipOf(parsed->target).empty())
    return fail(absl::StrCat("compiled for target ", parsed->target,
                             " but this runtime executes ", hostTarget(),
                             " and ", cudaTarget("sm_XX")));
  const std::vector<std::string> &isas = parsed->hostIsas;
  for (size_t i = isas.size(); i-- > 0;)
    if (hostIsaProblem(isas[i]).empty()) {
      std::string isa = isas[i];
      return ArtifactContents{std::move(*parsed), std::move(isa),
                              std::string(objects[i])};
    }
  // The oldest instruction set needs the least: its problem says most.
  return absl::FailedPreconditionError(
      absl::StrCat(path, ": ", hostIsaProblem(isas.front())));
}

} // namespace mstream::rt
