#!/usr/bin/env bash
# The main job: installs what mstream needs, builds it, and runs the tiny
# TMMFormer on the CPU: compile to an artifact, initialise its parameters
# (SPEC.md §1) and evaluate the loss on a batch of tokens. Until training
# lands (issue 4) the job stops there; an untrained model's loss is close
# to ln(vocab_size) = ln(256) = 5.55.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}
config=${1:-$root/examples/configs/tmm-tiny.json}
batch=8
seq=128

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja
cmake --build "$build"

out="$build/run"
mkdir -p "$out"
mstream="$build/bin/mstream"

echo "== $(basename "$config"): the first layer in the mstream dialect =="
"$mstream" compile "$config" --emit=mlir --batch "$batch" --seq "$seq" -o "$out/model.mlir"
grep -m 10 '^    %' "$out/model.mlir"
echo "    ..."

echo "== compile for the CPU, init, eval =="
"$mstream" compile "$config" --target=cpu --batch "$batch" --seq "$seq" -o "$out/model.mstream"
"$mstream" init "$out/model.mstream" --seed 0 -o "$out/init.safetensors"
/usr/bin/python3 - "$out" "$batch" "$seq" <<'PY'
import sys
import numpy as np
out, batch, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# A fixed byte-level token stream: 0, 1, ..., 255, 0, 1, ...
tokens = np.resize(np.arange(batch * (seq + 1)) % 256, (batch, seq + 1)).astype(np.int64)
np.save(f"{out}/tokens.npy", tokens[:, :-1])
np.save(f"{out}/targets.npy", tokens[:, 1:])
PY
"$mstream" eval "$out/model.mstream" --weights "$out/init.safetensors" \
  --tokens "$out/tokens.npy" --targets "$out/targets.npy"
echo "artifacts in $out (model.mlir, model.mstream, init.safetensors)"
