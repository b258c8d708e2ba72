#!/bin/bash
# Packs what scripts/gpu-check.sh needs on a GPU machine without MLIR: the
# runtime built with the compiler off (CUDA on), the shared libraries it
# needs beyond the C/C++ runtime and cuBLAS, and artifacts compiled here:
# the GPU tests' (tmm, muon, soap), and the benchmark's train steps with
# their kernel reports (paper size: every variant in bf16, tmm also fp32
# fused and unfused; small: tmm bf16). Most of its time is compiling the
# paper-size train steps, 16 s (tmm) to 94 s (soap) each on two cores.
#
#   scripts/gpu-bundle.sh [BUNDLE_DIR]   (default .devbundle)
#
# MSTREAM_GPU_VARIANTS="tmm" trims the tests' and the benchmark's variants.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-.devbundle}
mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/art" "$bundle/bench"

cmake -S . -B build-rt -G Ninja -DMSTREAM_BUILD_COMPILER=OFF \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-rt mstream
cp build-rt/bin/mstream "$bundle/bin/"
ldd build-rt/bin/mstream | awk '/=>/ {print $3}' |
  grep -v -E 'lib(c|m|dl|rt|pthread|stdc\+\+|gcc_s|cublas|cublasLt)\.so|ld-linux' |
  xargs -I{} cp -L {} "$bundle/lib/"

tests=(${MSTREAM_GPU_VARIANTS:-tmm muon soap})
benchmarked=(${MSTREAM_GPU_VARIANTS:-vanilla tmm muon soap})
MSTREAM_BIN=build/bin/mstream /usr/bin/python3 test/python/cuda_artifacts.py "$bundle/art" \
  "${tests[@]}"
prebuild() { /usr/bin/python3 examples/bench/gpu/run.py --prebuild "$bundle/bench" "$@"; }
prebuild --size paper --variants "${benchmarked[@]}" --mstream-modes bf16
prebuild --size paper --variants tmm --mstream-modes fp32 unfused
prebuild --size small --variants tmm --mstream-modes bf16
# Cubins compress well; the device tool carries at most 64 MiB.
tar -C "$bundle" -cJf "$bundle/artifacts.tar.xz" art bench
rm -rf "$bundle/art" "$bundle/bench"
du -sh "$bundle"
