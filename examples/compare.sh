#!/usr/bin/env bash
# Trains vanilla, hb, tmm, adam and muon (the tiny configs) for the same
# steps on the same data, seed and recipe (the Muon hybrid of docs/training.md), and
# prints their validation losses: the paper's ranking at toy
# scale. Run scripts/run.sh (or scripts/setup.sh and a build) first.
#
#   examples/compare.sh [STEPS] [extra 'mstream train' flags...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}
steps=${1:-800}
shift || true
mstream="$build/bin/mstream"
data="$build/data/kjv"
out="$build/compare"
mkdir -p "$out"
[ -f "$data/train.bin" ] || "$mstream" prepare "$root/data/kjv-genesis-exodus.txt" --out "$data"

variants=(vanilla hb tmm adam muon)
for v in "${variants[@]}"; do
  echo "== $v =="
  rm -rf "${out:?}/$v"
  "$mstream" train "$root/examples/configs/$v-tiny.json" --data "$data" --out "$out/$v" \
    --steps "$steps" --batch 8 --seq 128 --eval-every 100 --val-batches 10 --log-every 100 \
    --seed 42 "$@" | tee "$out/$v.log"
done

echo
printf '| %-8s | %-14s | %-14s | %-12s |\n' variant "best val loss" "final val loss" "ms/step"
printf '|%s|%s|%s|%s|\n' ---------- ---------------- ---------------- --------------
for v in "${variants[@]}"; do
  /usr/bin/python3 - "$out/$v" "$v" <<'PY'
import json, sys
run, name = sys.argv[1], sys.argv[2]
records = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
vals = [r["val_loss"] for r in records if "val_loss" in r]
ms = sorted(r["ms"] for r in records if "ms" in r)
print(f"| {name:<8} | {min(vals):<14.4f} | {vals[-1]:<14.4f} | {ms[len(ms) // 2]:<12.1f} |")
PY
done
