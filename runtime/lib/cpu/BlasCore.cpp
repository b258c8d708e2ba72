//===- BlasCore.cpp - OpenBLAS kernels from the CPU's features ------------===//

#include "mstream/Runtime/BlasCore.h"

#include <cblas.h>
#include <cstdlib>
#include <dlfcn.h>

namespace mstream::rt {

CpuFeatures hostCpuFeatures() {
  CpuFeatures features;
  features.avx = __builtin_cpu_supports("avx");
  features.avx2 = __builtin_cpu_supports("avx2");
  features.fma = __builtin_cpu_supports("fma");
  features.avx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return features;
}

std::string betterBlasCore(const std::string &chosen,
                           const CpuFeatures &features) {
  if (chosen != "Prescott")
    return "";
  if (features.avx512)
    return "SkylakeX";
  if (features.avx2 && features.fma)
    return "Haswell";
  if (features.avx)
    return "Sandybridge";
  return "";
}

namespace {

std::string currentCore() { return openblas_get_corename(); }

/// A function of the loaded OpenBLAS, or null. Looked up in OpenBLAS's own
/// object: a Python extension loads this runtime, and with it OpenBLAS,
/// outside the global scope that RTLD_DEFAULT searches.
void (*openblasFunction(const char *name))() {
  Dl_info info;
  if (!::dladdr(reinterpret_cast<void *>(&openblas_get_corename), &info) ||
      !info.dli_fname)
    return nullptr;
  void *library = ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  if (!library)
    return nullptr;
  auto *function = reinterpret_cast<void (*)()>(::dlsym(library, name));
  ::dlclose(library);
  return function;
}

/// OpenBLAS reads OPENBLAS_CORETYPE only when it picks its kernels, which
/// gotoblas_dynamic_init does again after gotoblas_dynamic_quit (exported by
/// DYNAMIC_ARCH builds only). The variable is set for that moment and then
/// restored, so the process's environment stays the user's.
std::string selectCore() {
  const char *forced = std::getenv("OPENBLAS_CORETYPE");
  if (forced && *forced)
    return currentCore();
  std::string better = betterBlasCore(currentCore(), hostCpuFeatures());
  auto *init = openblasFunction("gotoblas_dynamic_init");
  auto *quit = openblasFunction("gotoblas_dynamic_quit");
  if (better.empty() || !init || !quit)
    return currentCore();
  ::setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
  quit();
  init();
  if (forced)
    ::setenv("OPENBLAS_CORETYPE", "", 1);
  else
    ::unsetenv("OPENBLAS_CORETYPE");
  return currentCore();
}

} // namespace

const std::string &blasCore() {
  static const std::string core = selectCore();
  return core;
}

} // namespace mstream::rt
