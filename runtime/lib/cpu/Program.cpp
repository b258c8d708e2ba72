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
#include <cstdio>
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

/// MSTREAM_CUDA_PROFILE=1 or =calls: each device call prints what it moved
/// and launched.
bool profileCalls() {
  static const bool on = [] {
    const char *profile = std::getenv("MSTREAM_CUDA_PROFILE");
    return profile && std::strcmp(profile, "0") != 0;
  }();
  return on;
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
  std::unique_ptr<Device> device;
  if (!chip.empty()) {
    absl::StatusOr<std::unique_ptr<Device>> opened = cuda::openDevice(chip);
    if (!opened.ok())
      return absl::Status(opened.status().code(),
                          absl::StrCat(path, ": ", opened.status().message()));
    device = std::move(*opened);
  } else if (const char *simulate = std::getenv("MSTREAM_SIMULATE_DEVICE");
             simulate && std::strcmp(simulate, "0") != 0) {
    device = makeSimulatedDevice();
  }
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
  return std::unique_ptr<Program>(new Program(std::move(contents->manifest),
                                              std::move(contents->hostIsa),
                                              *library, std::move(device)));
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

  for (size_t i = 0; i < inputs.size(); ++i) {
    const ArgSpec &spec = entry->inputs[i];
    if (absl::Status status = checkTensor(spec, *inputs[i], entryName);
        !status.ok())
      return status;
    if (spec.dtype == DType::I32)
      if (absl::Status status = checkTokenRange(spec, *inputs[i], vocab);
          !status.ok())
        return status;
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
  }
  auto fn = reinterpret_cast<EntryFn>(
      ::dlsym(library_, absl::StrCat("mstream_entry_", entryName).c_str()));
  if (device_)
    return runOnDevice(*entry, fn, inputs, params);
  std::vector<void *> args;
  // Generated code does not write its inputs.
  for (const Tensor *input : inputs)
    args.push_back(const_cast<uint32_t *>(input->host().data()));
  for (Tensor &param : params)
    args.push_back(param.data());
  std::vector<Tensor> outputs = outputBuffers(entryName, entry->outputs);
  for (Tensor &output : outputs)
    args.push_back(output.data());
  ScopedFlushDenormals flush;
  fn(args.data());
  return outputs;
}

absl::StatusOr<void *> Program::place(const Tensor &tensor,
                                      absl::string_view entry, size_t slot,
                                      bool staged, CallCounters &counters) {
  if (tensor.device())
    return tensor.device()->address();
  std::shared_ptr<DeviceBuffer> buffer;
  if (staged) {
    auto &buffers = staging_[std::string(entry)];
    if (buffers.size() <= slot)
      buffers.resize(slot + 1);
    buffer = buffers[slot];
  }
  if (!buffer || buffer->bytes() != tensor.numBytes()) {
    absl::StatusOr<std::shared_ptr<DeviceBuffer>> allocated =
        device_->allocate(tensor.numBytes());
    if (!allocated.ok())
      return allocated.status();
    buffer = std::move(*allocated);
    if (staged)
      staging_[std::string(entry)][slot] = buffer;
  }
  if (absl::Status status = device_->upload(*buffer, tensor.host().data());
      !status.ok())
    return status;
  if (staged) {
    counters.inputBytesToDevice += tensor.numBytes();
  } else {
    counters.residentBytesToDevice += tensor.numBytes();
    tensor.cacheOnDevice(buffer);
  }
  return buffer->address();
}

absl::StatusOr<std::vector<Tensor>>
Program::runOnDevice(const EntrySpec &entry, EntryFn fn,
                     const std::vector<const Tensor *> &inputs,
                     std::vector<Tensor> &params) {
  std::lock_guard<std::mutex> lock(deviceMutex_);
  CallCounters counters;
  counters.entry = entry.name;
  // Arguments in order: inputs, parameters, outputs. Token batches and
  // rank-0 scalars (learning rates, the step count) change every call and
  // are staged; other tensors stay.
  std::vector<void *> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor &input = *inputs[i];
    bool staged = input.dtype == DType::I32 || input.shape.empty();
    absl::StatusOr<void *> address =
        place(input, entry.name, i, staged, counters);
    if (!address.ok())
      return address.status();
    args.push_back(*address);
  }
  for (Tensor &param : params) {
    absl::StatusOr<void *> address =
        place(param, entry.name, 0, /*staged=*/false, counters);
    if (!address.ok())
      return address.status();
    args.push_back(*address);
  }
  absl::StatusOr<std::vector<Tensor>> outputs =
      deviceOutputs(entry.name, entry.outputs);
  if (!outputs.ok())
    return outputs.status();
  std::vector<Device::Readback> readbacks;
  for (Tensor &output : *outputs) {
    args.push_back(output.device()->address());
    // The rank-0 outputs (a train step's loss and gradient norm) come back
    // with the call: one synchronisation.
    if (output.shape.empty()) {
      readbacks.push_back(
          {output.device().get(), output.hostBufferForReadback()});
      counters.bytesToHost += output.numBytes();
    }
  }
  if (absl::Status status =
          device_->run(fn, args, entry.name, readbacks, counters);
      !status.ok())
    return status;
  for (Tensor &output : *outputs)
    if (output.shape.empty())
      output.markHostCurrent();
  lastCall_ = counters;
  if (profileCalls())
    std::fprintf(stderr,
                 "call %s: %lld bytes of inputs and %lld resident bytes to "
                 "the device, %lld bytes back, %lld launches and %lld "
                 "library calls%s\n",
                 counters.entry.c_str(),
                 static_cast<long long>(counters.inputBytesToDevice),
                 static_cast<long long>(counters.residentBytesToDevice),
                 static_cast<long long>(counters.bytesToHost),
                 static_cast<long long>(counters.launches),
                 static_cast<long long>(counters.libraryCalls),
                 counters.graphReplay ? " (CUDA graph replayed)" : "");
  return std::move(*outputs);
}

CallCounters Program::lastCall() const {
  std::lock_guard<std::mutex> lock(deviceMutex_);
  return lastCall_;
}

void Program::recycle(absl::string_view entry, std::vector<Tensor> outputs) {
  std::lock_guard<std::mutex> lock(recycledMutex_);
  recycled_[std::string(entry)] = std::move(outputs);
}

std::vector<Tensor> Program::takeRecycled(absl::string_view entry) {
  std::lock_guard<std::mutex> lock(recycledMutex_);
  auto it = recycled_.find(std::string(entry));
  if (it == recycled_.end())
    return {};
  std::vector<Tensor> spare = std::move(it->second);
  recycled_.erase(it);
  return spare;
}

absl::StatusOr<std::vector<Tensor>>
Program::deviceOutputs(absl::string_view entry,
                       const std::vector<ArgSpec> &specs) {
  std::vector<Tensor> spare = takeRecycled(entry);
  std::vector<Tensor> outputs;
  outputs.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    Tensor shaped;
    shaped.shape = specs[i].shape;
    std::shared_ptr<DeviceBuffer> buffer;
    if (i < spare.size() && spare[i].device() &&
        spare[i].device()->bytes() == shaped.numBytes())
      buffer = spare[i].device();
    if (!buffer) {
      absl::StatusOr<std::shared_ptr<DeviceBuffer>> allocated =
          device_->allocate(shaped.numBytes());
      if (!allocated.ok())
        return allocated.status();
      buffer = std::move(*allocated);
    }
    outputs.push_back(
        Tensor::onDevice(specs[i].dtype, specs[i].shape, std::move(buffer)));
  }
  return outputs;
}

std::vector<Tensor> Program::outputBuffers(absl::string_view entry,
                                           const std::vector<ArgSpec> &specs) {
  std::vector<Tensor> spare = takeRecycled(entry);
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
