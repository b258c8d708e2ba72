//===- Wrappers.cpp - the functions cuda host code calls ------------------===//
//
// Generated host code calls these by name (resolved when the artifact's
// shared object is loaded): MLIR's GPU runtime ABI (mgpu*, emitted by
// gpu-to-llvm), its generic allocation functions (finalize-memref-to-llvm
// with use-generic-functions), and mstream_cuda_sgemm and
// mstream_cuda_gemm_bf16 (mstream-gemm-to-blas).
// Every buffer lives in device memory, allocated on the one stream.
//
//===----------------------------------------------------------------------===//

#include "State.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cstdint>

using mstream::rt::cuda::check;
using mstream::rt::cuda::state;

namespace {
std::string kernelName(const void *kernel) {
  auto it = state().kernelNames.find(kernel);
  return it == state().kernelNames.end() ? "?" : it->second;
}

cublasOperation_t operation(int64_t transposed) {
  return transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
}

/// One cuBLAS product on the runtime's stream, timed for the kernel report
/// as "<what> MxNxK batch B"; a failure becomes the runtime's error.
/// `call(handle, beta)` issues it, beta 0 overwriting C.
template <typename Call>
void runGemm(const char *what, int64_t batch, int64_t m, int64_t n, int64_t k,
             Call call, int64_t accumulate) {
  auto &s = state();
  if (!s.error.empty())
    return;
  ++s.libraryCalls;
  mstream::rt::cuda::startTimed(
      absl::StrCat(what, " ", m, "x", n, "x", k, " batch ", batch));
  cublasStatus_t status = call(s.blas, accumulate ? 1.0f : 0.0f);
  mstream::rt::cuda::finishTimed();
  if (status != CUBLAS_STATUS_SUCCESS && s.error.empty())
    s.error = absl::StrCat("cuBLAS ", what, " ", m, "x", n, "x", k, " (batch ",
                           batch, "): ", cublasGetStatusString(status));
}
} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t size) {
  cudaLibrary_t library = nullptr;
  if (!check(cudaLibraryLoadData(&library, data, nullptr, nullptr, 0, nullptr,
                                 nullptr, 0),
             absl::StrCat("loading the artifact's cubin (", size, " bytes)")))
    return nullptr;
  return library;
}

void mgpuModuleUnload(void *module) {
  if (module)
    cudaLibraryUnload(static_cast<cudaLibrary_t>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  cudaKernel_t kernel = nullptr;
  if (!module || !check(cudaLibraryGetKernel(
                            &kernel, static_cast<cudaLibrary_t>(module), name),
                        absl::StrCat("finding kernel ", name)))
    return nullptr;
  state().kernelNames.emplace(kernel, name);
  return kernel;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void * /*stream*/,
                      void **params, void ** /*extra*/, size_t /*count*/) {
  auto &s = state();
  if (!s.error.empty() || !function)
    return;
  ++s.launches;
  std::string what = absl::StrCat("kernel ", kernelName(function));
  // A token kernel whose buffers take more than 48 KiB of shared memory
  // (mstream-loops-to-gpu) must be allowed it before it launches.
  // The lookup only for those: most launches take none.
  if (sharedBytes > 48 * 1024) {
    int32_t &allowed = s.dynamicSharedBytes[function];
    if (sharedBytes > allowed) {
      if (!check(cudaFuncSetAttribute(
                     function, cudaFuncAttributeMaxDynamicSharedMemorySize,
                     sharedBytes),
                 absl::StrCat("allowing ", what, " ", sharedBytes,
                              " bytes of shared memory")))
        return;
      allowed = sharedBytes;
    }
  }
  mstream::rt::cuda::startTimed(kernelName(function));
  bool launched = check(cudaLaunchKernel(function, dim3(gridX, gridY, gridZ),
                                         dim3(blockX, blockY, blockZ), params,
                                         sharedBytes, s.stream),
                        "launching " + what);
  mstream::rt::cuda::finishTimed();
  if (launched && s.syncEachLaunch)
    check(cudaStreamSynchronize(s.stream), what);
}

void *mgpuStreamCreate() { return state().stream; }
void mgpuStreamDestroy(void *) {}
// The host never reads device memory between launches: nothing to wait for.
void mgpuStreamSynchronize(void *) {}

void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  void *pointer = nullptr;
  if (state().error.empty())
    check(cudaMallocAsync(&pointer, bytes ? bytes : 4, state().stream),
          absl::StrCat("allocating ", bytes, " bytes of device memory"));
  return pointer;
}

void _mlir_memref_to_llvm_free(void *pointer) {
  if (pointer)
    cudaFreeAsync(pointer, state().stream);
}

/// Row-major C += op(A) op(B) per batch entry (C = op(A) op(B) when
/// `accumulate` is 0), as column-major C^T += op(B)^T op(A)^T. Full fp32
/// (no TF32), like the CPU backend.
void mstream_cuda_sgemm(int64_t batch, int64_t transA, int64_t transB,
                        int64_t m, int64_t n, int64_t k, int64_t a, int64_t lda,
                        int64_t strideA, int64_t b, int64_t ldb,
                        int64_t strideB, int64_t c, int64_t ldc,
                        int64_t strideC, int64_t accumulate) {
  runGemm(
      "sgemm", batch, m, n, k,
      [&](cublasHandle_t blas, float beta) {
        const float one = 1.0f;
        return cublasSgemmStridedBatched(
            blas, operation(transB), operation(transA), n, m, k, &one,
            reinterpret_cast<const float *>(b), ldb, strideB,
            reinterpret_cast<const float *>(a), lda, strideA, &beta,
            reinterpret_cast<float *>(c), ldc, strideC, batch);
      },
      accumulate);
}

/// mstream-apply-precision's products, as mstream_cuda_sgemm but with bf16
/// operands: f32 accumulation and result, on the tensor cores (cuBLAS picks
/// the kernel; CUBLAS_COMPUTE_32F keeps the sums in f32).
void mstream_cuda_gemm_bf16(int64_t batch, int64_t transA, int64_t transB,
                            int64_t m, int64_t n, int64_t k, int64_t a,
                            int64_t lda, int64_t strideA, int64_t b,
                            int64_t ldb, int64_t strideB, int64_t c,
                            int64_t ldc, int64_t strideC, int64_t accumulate) {
  runGemm(
      "gemm_bf16", batch, m, n, k,
      [&](cublasHandle_t blas, float beta) {
        const float one = 1.0f;
        return cublasGemmStridedBatchedEx(
            blas, operation(transB), operation(transA), n, m, k, &one,
            reinterpret_cast<const void *>(b), CUDA_R_16BF, ldb, strideB,
            reinterpret_cast<const void *>(a), CUDA_R_16BF, lda, strideA, &beta,
            reinterpret_cast<void *>(c), CUDA_R_32F, ldc, strideC, batch,
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      },
      accumulate);
}

} // extern "C"
