//===- CudaRuntime.cpp - device selection and entry calls -----------------===//

#include "mstream/Runtime/Cuda.h"

#include "State.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

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
  // MSTREAM_CUDA_PROFILE=calls prints each call's transfers and launches
  // (Program) without timing every kernel, so CUDA graphs stay on.
  const char *profile = std::getenv("MSTREAM_CUDA_PROFILE");
  s.profile = profile && std::strcmp(profile, "0") != 0 &&
              std::strcmp(profile, "calls") != 0;
  const char *graphs = std::getenv("MSTREAM_CUDA_GRAPHS");
  s.graphs = !graphs || std::strcmp(graphs, "0") != 0;
  // cuBLAS allocates a workspace on first use unless given one, which a
  // captured call cannot do; 32 MiB is what NVIDIA advises for Hopper.
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;
  if (cudaMalloc(&s.blasWorkspace, kWorkspaceBytes) != cudaSuccess ||
      cublasSetWorkspace(s.blas, s.blasWorkspace, kWorkspaceBytes) !=
          CUBLAS_STATUS_SUCCESS)
    return absl::InternalError("cannot give cuBLAS its workspace");
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

namespace {

/// Device memory from the stream's pool. Small buffers (a token batch, a
/// step's scalars) are uploaded through pinned host memory of their own,
/// so that the copy is asynchronous; a large upload (parameters, once)
/// goes from pageable memory.
class CudaBuffer final : public DeviceBuffer {
public:
  CudaBuffer(void *pointer, size_t bytes) : pointer_(pointer), bytes_(bytes) {}
  ~CudaBuffer() override {
    // Stream-ordered: after every launch that may still read it.
    cudaFreeAsync(pointer_, state().stream);
    if (pinned_)
      cudaFreeHost(pinned_);
  }
  void *address() const override { return pointer_; }
  size_t bytes() const override { return bytes_; }
  absl::Status download(void *host) override {
    check(cudaMemcpyAsync(host, pointer_, bytes_, cudaMemcpyDeviceToHost,
                          state().stream),
          absl::StrCat("copying ", bytes_, " bytes to the host"));
    check(cudaStreamSynchronize(state().stream), "copying to the host");
    return takeError();
  }
  absl::Status upload(const void *host) {
    static constexpr size_t kPinnedLimit = size_t{16} << 20;
    const void *source = host;
    if (bytes_ <= kPinnedLimit) {
      if (!pinned_ && !check(cudaMallocHost(&pinned_, bytes_ ? bytes_ : 4),
                             "allocating pinned host memory"))
        return takeError();
      std::memcpy(pinned_, host, bytes_);
      source = pinned_;
    }
    check(cudaMemcpyAsync(pointer_, source, bytes_, cudaMemcpyHostToDevice,
                          state().stream),
          absl::StrCat("copying ", bytes_, " bytes to the device"));
    return takeError();
  }

private:
  void *pointer_;
  size_t bytes_;
  void *pinned_ = nullptr;
};

/// A captured call: replayed while its entry gets the same addresses.
struct Graph {
  cudaGraphExec_t exec = nullptr;
  int64_t launches = 0, libraryCalls = 0;
};

class CudaDevice final : public Device {
public:
  ~CudaDevice() override {
    for (auto &[key, graph] : graphs_)
      cudaGraphExecDestroy(graph.exec);
  }

  absl::StatusOr<std::shared_ptr<DeviceBuffer>>
  allocate(size_t bytes) override {
    void *pointer = nullptr;
    if (!check(cudaMallocAsync(&pointer, bytes ? bytes : 4, state().stream),
               absl::StrCat("allocating ", bytes, " bytes of device memory")))
      return takeError();
    return std::make_shared<CudaBuffer>(pointer, bytes);
  }

  absl::Status upload(DeviceBuffer &buffer, const void *host) override {
    return static_cast<CudaBuffer &>(buffer).upload(host);
  }

  absl::Status run(void (*entry)(void **), std::vector<void *> &args,
                   absl::string_view entryName,
                   const std::vector<Readback> &readbacks,
                   CallCounters &counters) override {
    State &s = state();
    std::string what = absl::StrCat("entry '", entryName, "'");
    s.launches = s.libraryCalls = 0;
    if (s.error.empty()) {
      if (s.graphs && !s.profile && !s.syncEachLaunch)
        runCaptured(entry, args, entryName, counters);
      else
        entry(args.data());
    }
    if (!counters.graphReplay) {
      counters.launches = s.launches;
      counters.libraryCalls = s.libraryCalls;
    }
    for (const Readback &readback : readbacks)
      if (s.error.empty())
        check(cudaMemcpyAsync(readback.host, readback.buffer->address(),
                              readback.buffer->bytes(), cudaMemcpyDeviceToHost,
                              s.stream),
              what + ": copying an output to the host");
    check(cudaStreamSynchronize(s.stream),
          what + " (run with MSTREAM_CUDA_SYNC=1 to name the kernel)");
    // A graph's allocations come from the graph memory pool: what the
    // eager calls before it left cached in the stream's pool goes back.
    if (captured_) {
      captured_ = false;
      cudaMemPool_t pool;
      if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess)
        cudaMemPoolTrimTo(pool, 0);
    }
    if (s.profile)
      reportTimed(entryName);
    return takeError();
  }

private:
  /// The first call with a set of addresses runs eagerly (cuBLAS picks and
  /// loads its kernels), the second is captured, later ones replay it. A
  /// train step alternates between two sets (its outputs become the next
  /// step's inputs, and the inputs' buffers the next outputs), so an entry
  /// keeps up to kGraphsPerEntry graphs.
  void runCaptured(void (*entry)(void **), std::vector<void *> &args,
                   absl::string_view entryName, CallCounters &counters) {
    static constexpr int kGraphsPerEntry = 4;
    State &s = state();
    std::string prefix = absl::StrCat(entryName, std::string(1, '\0'));
    std::string key = prefix;
    for (void *arg : args)
      key.append(reinterpret_cast<const char *>(&arg), sizeof(arg));
    if (auto it = graphs_.find(key); it != graphs_.end()) {
      check(cudaGraphLaunch(it->second.exec, s.stream),
            absl::StrCat("replaying the CUDA graph of entry '", entryName,
                         "' (MSTREAM_CUDA_GRAPHS=0 runs without graphs)"));
      counters.launches = it->second.launches;
      counters.libraryCalls = it->second.libraryCalls;
      counters.graphReplay = true;
      return;
    }
    // Calls with new outputs every time (an eval that keeps them) would
    // grow the set without end.
    static constexpr size_t kSeenLimit = 256;
    if (seen_.size() == kSeenLimit)
      seen_.clear();
    if (seen_.insert(key).second) {
      entry(args.data());
      return;
    }
    int &count = graphsOf_[std::string(entryName)];
    if (count == kGraphsPerEntry) {
      for (auto it = graphs_.begin(); it != graphs_.end();)
        if (absl::StartsWith(it->first, prefix)) {
          cudaGraphExecDestroy(it->second.exec);
          it = graphs_.erase(it);
        } else {
          ++it;
        }
      count = 0;
    }
    std::string what =
        absl::StrCat("capturing entry '", entryName,
                     "' as a CUDA graph (MSTREAM_CUDA_GRAPHS=0 runs without)");
    cudaGraph_t graph = nullptr;
    if (!check(
            cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal),
            what))
      return;
    entry(args.data());
    bool ended = check(cudaStreamEndCapture(s.stream, &graph), what);
    if (!ended || !s.error.empty()) {
      if (graph)
        cudaGraphDestroy(graph);
      return;
    }
    Graph captured{nullptr, s.launches, s.libraryCalls};
    bool made = check(
        cudaGraphInstantiateWithFlags(&captured.exec, graph,
                                      cudaGraphInstantiateFlagAutoFreeOnLaunch),
        what);
    cudaGraphDestroy(graph);
    if (!made)
      return;
    graphs_.emplace(key, captured);
    ++count;
    captured_ = true;
    check(cudaGraphLaunch(captured.exec, s.stream), what);
  }

  std::map<std::string, Graph> graphs_;
  std::set<std::string> seen_;
  std::map<std::string, int> graphsOf_;
  bool captured_ = false;
};

} // namespace

absl::StatusOr<std::unique_ptr<Device>> openDevice(absl::string_view chip) {
  if (absl::Status status = requireDevice(chip); !status.ok())
    return status;
  return std::make_unique<CudaDevice>();
}

} // namespace mstream::rt::cuda
