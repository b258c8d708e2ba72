#!/bin/bash
# On a GPU machine, with a bundle from scripts/gpu-bundle.sh: the GPU tests
# (parity with the CPU backend for every variant, fp32 and bf16) and the GPU
# benchmark.
#
#   scripts/gpu-run.sh [BUNDLE_DIR] [BENCH_SIZE] [LOG_DIR]
#
# MSTREAM_GPU_VARIANTS as for scripts/gpu-bundle.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=$(realpath "${1:-.devbundle}")
size=${2:-paper}
logs=${3:-${OUT:-/tmp}}
work=$(mktemp -d)
tar -C "$work" -xJf "$bundle/artifacts.tar.xz"
cublas=$(dirname "$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$bundle/lib:$cublas:${LD_LIBRARY_PATH:-}"
export MSTREAM_BIN="$bundle/bin/mstream" MSTREAM_ARTIFACTS="$work/art"
nvidia-smi -L

variants=(${MSTREAM_GPU_VARIANTS:-})
# Exact test ids: `-k tmm` would also pick tmm-zerovel, built only when named.
tests=(test/python/test_cuda_gpu.py)
[ ${#variants[@]} -gt 0 ] && tests=($(for v in "${variants[@]}"; do
  for t in test_eval_matches_cpu test_bf16_eval_matches_cpu_bf16 test_training_matches_cpu; do
    echo "test/python/test_cuda_gpu.py::$t[$v]"; done; done))
python3 -m pytest -q -rs -p no:cacheprovider "${tests[@]}" 2>&1 |
  tee "$logs/gpu-tests.log" | tail -15
python3 examples/bench/gpu/run.py --artifacts "$work/bench" --mstream "$MSTREAM_BIN" \
  --size "$size" ${variants[@]:+--variants "${variants[@]}"} 2>&1 | tee "$logs/gpu-bench.log"
