#!/usr/bin/env bash
# Creates the benchmark's own virtual environment with PyTorch 2.x from PyPI
# (Debian's python3-torch is 1.13: no AVX-512 kernels, no torch.compile worth
# comparing). Idempotent; prints the environment's python. About 5 GB.
#   examples/bench/precision/setup.sh [VENV]   (default: build/bench-venv)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
venv=${1:-"$root/build/bench-venv"}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import torch, numpy; assert int(torch.__version__.split(".")[0]) >= 2' 2>/dev/null; then
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "torch>=2" numpy >&2
fi
echo "$venv/bin/python"
