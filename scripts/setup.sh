#!/usr/bin/env bash
# Installs every Debian package mstream needs to build and test, and NVIDIA's cuobjdump and
# nvdisasm from PyPI into a venv of the build directory. Idempotent: when everything is already
# installed it only checks and returns in about a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libabsl-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev libdnnl-dev
  python3 python3-venv python3-numpy python3-torch python3-pybind11 pybind11-dev python3-pytest
  python3-matplotlib bible-kjv bible-kjv-text
  clang-format-22 black
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The demo corpus: Genesis and Exodus of the King James Version (public domain;
# Debian's bible-kjv-text ships it), as plain text without verse numbers.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo_text="$root/data/kjv-genesis-exodus.txt"
if [ ! -s "$demo_text" ]; then
  mkdir -p "$root/data"
  bible -f "gen1:1-exo40:38" | sed -E 's/^[0-9A-Za-z]+[0-9]+:[0-9]+ //' > "$demo_text.tmp"
  mv "$demo_text.tmp" "$demo_text"
  echo "setup: wrote $demo_text ($(wc -c < "$demo_text") bytes)"
fi

# cuobjdump and nvdisasm, which the CUDA toolkit here lacks and Debian does not package, for the
# tests that read the generated SASS: NVIDIA's wheels from PyPI, in a venv of the build directory.
tools="${MSTREAM_BUILD_DIR:-$root/build}/cuda-tools-venv"
if ! compgen -G "$tools/lib/python3*/site-packages/nvidia/cu13/bin/nvdisasm" > /dev/null; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "nvidia-cuda-cuobjdump>=13,<14" "nvidia-cuda-nvdisasm>=13,<14"
  echo "setup: installed cuobjdump and nvdisasm into $tools"
fi
