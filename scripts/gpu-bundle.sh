#!/bin/bash
# Packs what a GPU machine without MLIR needs to run mstream's GPU tests and
# benchmark: the runtime built with the compiler off (CUDA on), the shared
# libraries it needs beyond the C/C++ runtime and cuBLAS, and artifacts
# compiled here. Run the result there with scripts/gpu-run.sh.
#
#   scripts/gpu-bundle.sh [BUNDLE_DIR] [BENCH_SIZE]   (default .devbundle, paper)
#
# MSTREAM_GPU_VARIANTS="tmm soap" limits the tests' and the benchmark's
# variants (compiling all of them takes an hour on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-.devbundle}
size=${2:-paper}
mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/art" "$bundle/bench"

cmake -S . -B build-rt -G Ninja -DMSTREAM_BUILD_COMPILER=OFF \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-rt mstream
cp build-rt/bin/mstream "$bundle/bin/"
ldd build-rt/bin/mstream | awk '/=>/ {print $3}' |
  grep -v -E 'lib(c|m|dl|rt|pthread|stdc\+\+|gcc_s|cublas|cublasLt)\.so|ld-linux' |
  xargs -I{} cp -L {} "$bundle/lib/"

# The GPU tests' artifacts (cpu and cuda) and the benchmark's train steps.
variants=(${MSTREAM_GPU_VARIANTS:-})
MSTREAM_BIN=build/bin/mstream /usr/bin/python3 test/python/cuda_artifacts.py "$bundle/art" \
  "${variants[@]}"
/usr/bin/python3 examples/bench/gpu/run.py --prebuild "$bundle/bench" --size "$size" \
  ${variants[@]:+--variants "${variants[@]}"}
# Cubins compress well; the device tool carries at most 64 MiB.
tar -C "$bundle" -cJf "$bundle/artifacts.tar.xz" art bench
rm -rf "$bundle/art" "$bundle/bench"
du -sh "$bundle"
