#!/usr/bin/env bash
# The main job: installs what mstream needs, builds it, and trains a tiny
# TMMFormer (docs/models.md, d=128, 4 layers) on the CPU on Genesis and Exodus
# of the King James Version with a byte-level tokenizer, then samples from
# the best checkpoint. A few minutes on two cores; the validation loss falls
# from ln(256) = 5.5 to about 2.
#
#   scripts/run.sh [CONFIG.json] [extra 'mstream train' flags...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}
config=${1:-$root/examples/configs/tmm-tiny.json}
shift || true

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja
cmake --build "$build"

mstream="$build/bin/mstream"
data="$build/data/kjv"
run="$build/run"

echo "== prepare: byte-level tokens =="
"$mstream" prepare "$root/data/kjv-genesis-exodus.txt" --out "$data"

echo "== train $(basename "$config") =="
rm -rf "$run"
"$mstream" train "$config" --data "$data" --out "$run" --steps 800 --batch 8 --seq 128 \
  --eval-every 100 --val-batches 10 --log-every 50 "$@"

echo "== sample from $run/best.safetensors =="
"$mstream" sample "$run/best.safetensors" --prompt "And God said" --max-new-tokens 300 \
  --temperature 0.8 --top-k 40 --seed 1
echo "run directory: $run (metrics.jsonl, checkpoint.safetensors, best.safetensors, config.json)"
