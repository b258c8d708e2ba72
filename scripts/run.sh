#!/usr/bin/env bash
# The main job: installs what mstream needs, builds it, and runs it on the
# tiny TMMFormer. Until the CPU backend and training land (issues 3 and 4)
# the job imports examples/configs/tmm-tiny.json and prints its mstream IR,
# then canonicalizes it with mstream-opt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}
config=${1:-$root/examples/configs/tmm-tiny.json}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja
cmake --build "$build"

out="$build/run"
mkdir -p "$out"
"$build/bin/mstream" compile "$config" --emit=mlir --batch 8 --seq 128 \
  -o "$out/imported.mlir"
"$build/bin/mstream-opt" "$out/imported.mlir" -canonicalize -o "$out/canonical.mlir"

echo "== embeddings and first layer of $(basename "$config") =="
grep -m 10 '^    %' "$out/imported.mlir"
echo "    ..."
echo "== step ops in the model =="
grep -oE 'mstream\.[a-z_]+ x\(' "$out/imported.mlir" | sort | uniq -c
echo "IR written to $out/imported.mlir (canonicalized: $out/canonical.mlir)"
