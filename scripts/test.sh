#!/usr/bin/env bash
# Sets up, builds and runs mstream's whole test suite (lit + FileCheck and
# GoogleTest, through ctest). Prints ctest's summary line; exits non-zero on
# any failure. MSTREAM_BUILD_DIR overrides the build directory (./build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja
cmake --build "$build"
cd "$build"
ctest --output-on-failure --parallel "$(nproc)"
