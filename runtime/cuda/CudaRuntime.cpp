//===- CudaRuntime.cpp - device selection and entry calls -----------------===//

#include "mstream/Runtime/Cuda.h"

#include "State.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace mstream::rt::cuda {

State &state() {
  static State instance;
  return instance;
}

bool check(cudaError_t status, const std::string &what) {
  if (status == cudaSuccess)
    return true;
  if (state().error.empty())
    state().error = absl::StrCat(what, ": ", cudaGetErrorName(status), " (",
                                 cudaGetErrorString(status), ")");
  return false;
}

void startTimed(const std::string &name) {
  State &s = state();
  if (!s.profile)
    return;
  State::Timed timed{name, nullptr, nullptr};
  cudaEventCreate(&timed.start);
  cudaEventCreate(&timed.stop);
  cudaEventRecord(timed.start, s.stream);
  s.timed.push_back(timed);
}

void finishTimed() {
  State &s = state();
  if (s.profile && !s.timed.empty())
    cudaEventRecord(s.timed.back().stop, s.stream);
}

namespace {
/// Prints the kernels of the finished call by total time (the stream has
/// been synchronised).
void reportTimed(absl::string_view entryName) {
  State &s = state();
  std::map<std::string, std::pair<int, float>> totals;
  float all = 0;
  for (State::Timed &timed : s.timed) {
    float ms = 0;
    cudaEventElapsedTime(&ms, timed.start, timed.stop);
    cudaEventDestroy(timed.start);
    cudaEventDestroy(timed.stop);
    auto &[count, sum] = totals[timed.name];
    ++count;
    sum += ms;
    all += ms;
  }
  std::vector<std::pair<float, std::string>> order;
  for (auto &[name, total] : totals)
    order.push_back({total.second, name});
  std::sort(order.rbegin(), order.rend());
  std::fprintf(stderr, "profile of %s: %zu launches and GEMMs, %.2f ms\n",
               std::string(entryName).c_str(), s.timed.size(), all);
  for (size_t i = 0; i < order.size() && i < 25; ++i)
    std::fprintf(stderr, "  %9.3f ms %6d x  %s\n", order[i].first,
                 totals[order[i].second].first, order[i].second.c_str());
  s.timed.clear();
}
} // namespace

bool builtWithCuda() { return true; }

absl::Status requireDevice(absl::string_view chip) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "no CUDA device: ",
        status == cudaSuccess ? "none found" : cudaGetErrorString(status)));
  cudaDeviceProp props;
  if (cudaGetDeviceProperties(&props, 0) != cudaSuccess)
    return absl::FailedPreconditionError("cannot query CUDA device 0");
  int wanted = 0;
  if (!absl::ConsumePrefix(&chip, "sm_") || !absl::SimpleAtoi(chip, &wanted))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown GPU architecture '", chip, "'"));
  // A cubin runs on its own major architecture, at its minor or later.
  int have = props.major * 10 + props.minor;
  if (props.major != wanted / 10 || have < wanted)
    return absl::FailedPreconditionError(
        absl::StrCat("CUDA device 0 (", props.name, ") is sm_", have,
                     " but the artifact's kernels are for sm_", wanted,
                     "; recompile with --chip=sm_", have));
  State &s = state();
  if (s.stream)
    return absl::OkStatus();
  if (cudaSetDevice(0) != cudaSuccess ||
      cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking) !=
          cudaSuccess ||
      cublasCreate(&s.blas) != CUBLAS_STATUS_SUCCESS ||
      cublasSetStream(s.blas, s.stream) != CUBLAS_STATUS_SUCCESS)
    return absl::InternalError("cannot set up CUDA device 0 and cuBLAS");
  // Keep freed step memory in the pool for the next step.
  cudaMemPool_t pool;
  uint64_t keep = UINT64_MAX;
  if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess)
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  const char *sync = std::getenv("MSTREAM_CUDA_SYNC");
  s.syncEachLaunch = sync && std::strcmp(sync, "0") != 0;
  const char *profile = std::getenv("MSTREAM_CUDA_PROFILE");
  s.profile = profile && std::strcmp(profile, "0") != 0;
  return absl::OkStatus();
}

absl::Status takeError() {
  State &s = state();
  if (s.error.empty())
    return absl::OkStatus();
  std::string message = std::move(s.error);
  s.error.clear();
  return absl::InternalError(message);
}

absl::Status call(void (*entry)(void **), const std::vector<HostBuffer> &args,
                  absl::string_view entryName) {
  State &s = state();
  if (!s.stream)
    return absl::FailedPreconditionError("no CUDA device was selected");
  std::vector<void *> device(args.size(), nullptr);
  std::string what = absl::StrCat("entry '", entryName, "'");
  for (size_t i = 0; i < args.size(); ++i) {
    const HostBuffer &arg = args[i];
    if (!check(cudaMallocAsync(&device[i], arg.bytes ? arg.bytes : 4, s.stream),
               what + ": allocating an argument"))
      break;
    check(arg.output ? cudaMemsetAsync(device[i], 0, arg.bytes, s.stream)
                     : cudaMemcpyAsync(device[i], arg.data, arg.bytes,
                                       cudaMemcpyHostToDevice, s.stream),
          what + ": copying an argument to the device");
  }
  if (s.error.empty())
    entry(device.data());
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].output && s.error.empty())
      check(cudaMemcpyAsync(args[i].data, device[i], args[i].bytes,
                            cudaMemcpyDeviceToHost, s.stream),
            what + ": copying an output to the host");
  for (void *pointer : device)
    if (pointer)
      cudaFreeAsync(pointer, s.stream);
  check(cudaStreamSynchronize(s.stream),
        what + " (run with MSTREAM_CUDA_SYNC=1 to name the kernel)");
  if (s.profile)
    reportTimed(entryName);
  return takeError();
}

} // namespace mstream::rt::cuda
