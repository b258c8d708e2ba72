//===- Program.cpp - loading and running CPU artifacts --------------------===//

#include "mstream/Runtime/Program.h"

#include "mstream/Runtime/Blas.h"
#include "mstream/Runtime/Cuda.h"
#include "mstream/Runtime/Denormals.h"
#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Heap.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>

namespace mstream::rt {

namespace {

using EntryFn = void (*)(void **);

/// Generated code calls mstream_sgemm by name. Promote the object that
/// defines it to global scope: when this runtime was itself loaded with
/// RTLD_LOCAL (a Python extension), its symbols are otherwise invisible.
void exportRuntimeSymbols() {
  Dl_info info;
  if (::dladdr(reinterpret_cast<void *>(&mstream_sgemm), &info) &&
      info.dli_fname)
    ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
}

/// dlopen needs a file: the host code goes to a private temporary file that
/// is unlinked as soon as it is mapped, unless MSTREAM_KEEP_HOST_CODE names
/// a directory to keep it in, so that a profiler can read its symbols (each
/// kernel is a function named after its region) after the process ends.
absl::StatusOr<void *> openHostCode(const std::string &object,
                                    const std::string &path) {
  exportRuntimeSymbols();
  keepStepBuffers();
  const char *keep = std::getenv("MSTREAM_KEEP_HOST_CODE");
  bool kept = keep && *keep;
  std::string dir = kept ? keep : temporaryDirectory();
  absl::string_view suffix = kept ? ".so" : "";
  std::string pattern = absl::StrCat(dir, "/mstream-XXXXXX", suffix);
  int fd = ::mkstemps(pattern.data(), suffix.size());
  if (fd < 0)
    return absl::InternalError(absl::StrCat(
        "cannot create a file for the host code of ", path, " in ", dir,
        kept ? " (MSTREAM_KEEP_HOST_CODE)" : "", ": ", std::strerror(errno)));
  bool written = ::write(fd, object.data(), object.size()) ==
                 static_cast<ssize_t>(object.size());
  ::close(fd);
  void *library =
      written ? ::dlopen(pattern.c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
  std::string error = written ? (library ? "" : ::dlerror()) : "write failed";
  if (!kept || !library)
    ::unlink(pattern.c_str());
  if (!library)
    return absl::InternalError(
        absl::StrCat(path, ": cannot load its host code: ", error));
  return library;
}

absl::Status checkTensor(const ArgSpec &spec, const Tensor &tensor,
                         absl::string_view entry) {
  if (tensor.dtype != spec.dtype || tensor.shape != spec.shape)
    return absl::InvalidArgumentError(absl::StrCat(
        "entry '", entry, "': input '", spec.name, "' must be ",
        dtypeName(spec.dtype), " ", formatShape(spec.shape), ", got ",
        dtypeName(tensor.dtype), " ", formatShape(tensor.shape),
        " (the artifact was compiled for batch and sequence length of this "
        "shape)"));
  return absl::OkStatus();
}

/// Generated code indexes tables with token ids: reject any outside [0, V).
absl::Status checkTokenRange(const ArgSpec &spec, const Tensor &tensor,
                             int64_t vocab) {
  const int32_t *ids = tensor.i32();
  int64_t seq = spec.shape.back();
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: value %d at [%d, %d] is outside the vocabulary [0, %d)",
          spec.name, ids[i], i / seq, i % seq, vocab));
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<Program>>
Program::load(const std::string &path) {
  absl::StatusOr<std::string> bytes = readFile(path);
  if (!bytes.ok())
    return bytes.status();
  return fromBytes(*bytes, path);
}

absl::StatusOr<std::unique_ptr<Program>>
Program::fromBytes(absl::string_view bytes, const std::string &path) {
  absl::StatusOr<ArtifactContents> contents = parseArtifact(bytes, path);
  if (!contents.ok())
    return contents.status();
  // A cuda artifact's host code loads its cubin as it is opened.
  std::string chip = cudaChipOf(contents->manifest.target);
  if (!chip.empty())
    if (absl::Status status = cuda::requireDevice(chip); !status.ok())
      return absl::Status(status.code(),
                          absl::StrCat(path, ": ", status.message()));
  absl::StatusOr<void *> library = openHostCode(contents->object, path);
  if (!library.ok())
    return library.status();
  if (absl::Status status = cuda::takeError(); !status.ok()) {
    ::dlclose(*library);
    return absl::Status(status.code(),
                        absl::StrCat(path, ": ", status.message()));
  }
  for (const EntrySpec &entry : contents->manifest.entries)
    if (!::dlsym(*library,
                 absl::StrCat("mstream_entry_", entry.name).c_str())) {
      ::dlclose(*library);
      return absl::DataLossError(absl::StrCat(
          path, ": the host code lacks entry point '", entry.name, "'"));
    }
  return std::unique_ptr<Program>(new Program(
      std::move(contents->manifest), std::move(contents->hostIsa), *library));
}

Program::~Program() { ::dlclose(library_); }

absl::StatusOr<std::vector<Tensor>>
Program::run(absl::string_view entryName,
             const std::vector<const Tensor *> &inputs,
             std::vector<Tensor> &params) {
  const EntrySpec *entry = manifest_.findEntry(entryName);
  if (!entry)
    return absl::NotFoundError(
        absl::StrCat("the artifact has no entry point '", entryName, "'"));
  if (inputs.size() != entry->inputs.size())
    return absl::InvalidArgumentError(
        absl::StrFormat("entry '%s' takes %d inputs, got %d", entryName,
                        entry->inputs.size(), inputs.size()));
  int64_t vocab = 0;
  if (!absl::SimpleAtoi(manifest_.modelValue("vocab_size"), &vocab))
    return absl::DataLossError("the artifact's manifest lacks vocab_size");

  std::vector<void *> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ArgSpec &spec = entry->inputs[i];
    if (absl::Status status = checkTensor(spec, *inputs[i], entryName);
        !status.ok())
      return status;
    if (spec.dtype == DType::I32)
      if (absl::Status status = checkTokenRange(spec, *inputs[i], vocab);
          !status.ok())
        return status;
    args.push_back(const_cast<Tensor *>(inputs[i])->data());
  }
  if (params.size() != manifest_.params.size())
    return absl::InvalidArgumentError(
        absl::StrFormat("expected %d parameters, got %d",
                        manifest_.params.size(), params.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].shape != manifest_.params[i].shape)
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", manifest_.params[i].name, "' must be ",
                       formatShape(manifest_.params[i].shape), ", got ",
                       formatShape(params[i].shape)));
    args.push_back(params[i].data());
  }
  std::vector<Tensor> outputs = outputBuffers(entryName, entry->outputs);
  for (Tensor &output : outputs)
    args.push_back(output.data());
  auto fn = reinterpret_cast<EntryFn>(
      ::dlsym(library_, absl::StrCat("mstream_entry_", entryName).c_str()));
  if (cudaChipOf(manifest_.target).empty()) {
    ScopedFlushDenormals flush;
    fn(args.data());
    return outputs;
  }
  // Arguments in order: inputs, parameters, outputs.
  std::vector<cuda::HostBuffer> buffers;
  for (size_t i = 0; i < inputs.size(); ++i)
    buffers.push_back({args[i], inputs[i]->storage.size() * 4, false});
  for (Tensor &param : params)
    buffers.push_back({param.data(), param.storage.size() * 4, false});
  for (Tensor &output : outputs)
    buffers.push_back({output.data(), output.storage.size() * 4, true});
  if (absl::Status status = cuda::call(fn, buffers, entryName); !status.ok())
    return status;
  return outputs;
}

void Program::recycle(absl::string_view entry, std::vector<Tensor> outputs) {
  std::lock_guard<std::mutex> lock(recycledMutex_);
  recycled_[std::string(entry)] = std::move(outputs);
}

std::vector<Tensor> Program::outputBuffers(absl::string_view entry,
                                           const std::vector<ArgSpec> &specs) {
  std::vector<Tensor> spare;
  {
    std::lock_guard<std::mutex> lock(recycledMutex_);
    auto it = recycled_.find(std::string(entry));
    if (it != recycled_.end()) {
      spare = std::move(it->second);
      recycled_.erase(it);
    }
  }
  std::vector<Tensor> outputs;
  outputs.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i < spare.size() && spare[i].dtype == specs[i].dtype &&
        spare[i].shape == specs[i].shape)
      outputs.push_back(std::move(spare[i]));
    else
      outputs.push_back(Tensor::zeros(specs[i].dtype, specs[i].shape));
  }
  return outputs;
}

} // namespace mstream::rt
