#!/usr/bin/env bash
# Sets up, checks the formatting, builds and runs mstream's whole test suite
# (lit + FileCheck, GoogleTest and pytest, through ctest). Prints ctest's
# summary line; exits non-zero on any failure. MSTREAM_BUILD_DIR overrides
# the build directory (./build); MSTREAM_WERROR=ON makes warnings errors.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MSTREAM_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
"$root/scripts/format.sh" --check
cmake -S "$root" -B "$build" -G Ninja ${MSTREAM_WERROR:+-DMSTREAM_WERROR=$MSTREAM_WERROR}
cmake --build "$build"
cd "$build"
ctest --output-on-failure --parallel "$(nproc)"
