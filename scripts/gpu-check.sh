#!/bin/bash
# Everything that needs a GPU, in one command of at most 8 minutes, on a GPU
# machine without MLIR, from a bundle compiled beforehand where the compiler
# is (scripts/gpu-bundle.sh):
#   1. the GPU tests for tmm, muon and soap: eval (fp32 and bf16) and four
#      train steps against the CPU backend, and six steps three times
#      (device-resident state, CUDA graph replay, byte-identical results);
#   2. compute-sanitizer memcheck and synccheck on a tiny train step;
#   3. MSTREAM_CUDA_PROFILE=1 on the small and paper tmm bf16 train steps;
#   4. the benchmark (examples/bench/gpu/run.py): every variant in bf16,
#      tmm also fp32 fused and unfused, against PyTorch eager and
#      torch.compile in fp32 and bf16 on tmm;
#   5. the measured tmm step against the kernel report's roofline estimate.
# Each part has its own time limit; the logs (7 files) go to LOG_DIR or
# $OUT, and the summary ends the output. Record the numbers in
# docs/benchmarks.md with the date and commit.
#
#   scripts/gpu-check.sh [BUNDLE_DIR] [LOG_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=$(realpath "${1:-.devbundle}")
logs=$(realpath -m "${2:-${OUT:-/tmp/gpu-check}}")
mkdir -p "$logs"
begin=$SECONDS
budget=470
if ! nvidia-smi -L >"$logs/device.log" 2>&1; then
  echo "skipped: no GPU"
  exit 0
fi
work=$(mktemp -d)
tar -C "$work" -xJf "$bundle/artifacts.tar.xz"
cublas=$(dirname "$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$bundle/lib:$cublas:${LD_LIBRARY_PATH:-}"
export MSTREAM_BIN="$bundle/bin/mstream" MSTREAM_ARTIFACTS="$work/art"
bench="$work/bench"
summary=()

# part NAME LOG SECONDS COMMAND...: runs COMMAND for at most SECONDS,
# appending its output to LOG.log, and records its exit status.
part() {
  local name=$1 log=$2 limit=$3 started=$SECONDS
  shift 3
  echo "== $name" >>"$logs/$log.log"
  timeout --kill-after=5 "$limit" "$@" >>"$logs/$log.log" 2>&1
  local rc=$?
  local verdict=ok
  [ $rc -eq 124 ] && verdict="timed out after ${limit} s"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && verdict="failed (exit $rc)"
  summary+=("$name: $verdict, $((SECONDS - started)) s")
}

# Random tokens below 96 (the tests' vocabulary, valid for every size):
# enough for a paper-size batch of 8 x 1024 in training and validation.
data="$work/data"
python3 - "$data" <<'EOF'
import os, sys
import numpy as np
os.makedirs(sys.argv[1], exist_ok=True)
rng = np.random.default_rng(0)
rng.integers(0, 96, 100_000).astype(np.uint16).tofile(os.path.join(sys.argv[1], "train.bin"))
rng.integers(0, 96, 20_000).astype(np.uint16).tofile(os.path.join(sys.argv[1], "val.bin"))
EOF

# 1. Exact test ids: `-k tmm` would also pick tmm-zerovel.
tests=()
for v in tmm muon soap; do
  for t in test_eval_matches_cpu test_bf16_eval_matches_cpu_bf16 test_training_matches_cpu; do
    tests+=("test/python/test_cuda_gpu.py::$t[$v]")
  done
done
tests+=(test/python/test_cuda_gpu.py::test_train_steps_stay_on_the_device_and_repeat_bitwise)
part "GPU tests" gpu-tests 150 python3 -m pytest -q -rs -p no:cacheprovider "${tests[@]}"

# 2. Six steps: the last two replay a CUDA graph.
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
if [ -n "$sanitizer" ]; then
  for tool in memcheck synccheck; do
    part "compute-sanitizer $tool" sanitizer 45 "$sanitizer" --tool "$tool" --error-exitcode 1 \
      "$MSTREAM_BIN" train "$work/art/tmm-cuda-train.mstream" --data "$data" \
      --out "$work/sanitizer-$tool" --steps 6 --eval-every 3 --val-batches 1
  done
else
  summary+=("compute-sanitizer: not installed on this machine")
fi

# 3. Every kernel timed with events (no CUDA graphs): three steps each.
for size in small paper; do
  part "profile $size tmm bf16" profile 45 env MSTREAM_CUDA_PROFILE=1 "$MSTREAM_BIN" train \
    "$bench/tmm-$size-cuda-train-bf16.mstream" --data "$data" --out "$work/profile-$size" \
    --steps 3 --eval-every 3 --val-batches 1
done

# 4. What is left of the budget.
left=$((budget - (SECONDS - begin)))
part "benchmark" bench "$left" python3 examples/bench/gpu/run.py --artifacts "$bench" \
  --mstream "$MSTREAM_BIN" --size paper --variants vanilla tmm muon soap \
  --mstream-modes bf16 fp32 unfused --torch-variants tmm --steps 5

# 5. The roofline estimate is a bound at the datasheet's peaks; the target
# is a measured step within 2x of it.
python3 - "$logs/bench.log" "$bench/tmm-paper-cuda-train-bf16.mstream.report.json" \
  >>"$logs/bench.log" 2>&1 <<'EOF'
import json, re, sys
measured = re.findall(r"^mstream bf16 tmm: ([0-9.]+) ms", open(sys.argv[1]).read(), re.M)
report = json.load(open(sys.argv[2]))
step = {e["entry"]: e for e in report["entries"]}["train_step"]
estimate = step["estimated_seconds"] * 1e3
print(f"tmm bf16 train step: kernel report estimate {estimate:.1f} ms, "
      f"{step['launches']} launches, {step['library_calls']} cuBLAS calls, "
      f"peak {step['peak_device_bytes'] / 2**30:.1f} GiB")
if measured:
    ms = float(measured[-1])
    print(f"measured {ms:.1f} ms: {ms / estimate:.2f}x the estimate")
EOF

for log in gpu-tests sanitizer profile bench; do
  echo "---- $log (tail; whole log in $logs/$log.log)"
  grep -E "passed|failed|skipped|ERROR SUMMARY|^profile of|^call train_step|^\||x torch.compile|estimate|measured" \
    "$logs/$log.log" 2>/dev/null | tail -25
done
{
  echo "---- summary ($(head -1 "$logs/device.log"), $((SECONDS - begin)) s)"
  printf '%s\n' "${summary[@]}"
} | tee "$logs/summary.log"
