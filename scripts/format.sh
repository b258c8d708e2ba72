#!/usr/bin/env bash
# Formats mstream's C++ (clang-format, the LLVM style of .clang-format) and
# Python (black, 100 columns). With --check, changes nothing and exits
# non-zero naming the files that are not formatted (scripts/test.sh runs
# that). Both tools come from Debian (scripts/setup.sh installs them).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

clang_format=${CLANG_FORMAT:-clang-format-22}
black=${BLACK:-black}
mapfile -t cxx < <(git ls-files '*.cpp' '*.h')
mapfile -t py < <(git ls-files '*.py')

status=0
if ((check)); then
  for f in "${cxx[@]}"; do
    if ! "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1; then
      echo "format: $f is not clang-formatted (run scripts/format.sh)" >&2
      status=1
    fi
  done
  if ! "$black" --check --quiet --line-length 100 "${py[@]}"; then
    echo "format: Python files above are not black-formatted (run scripts/format.sh)" >&2
    status=1
  fi
  ((status == 0)) && echo "format: ${#cxx[@]} C++ and ${#py[@]} Python files formatted"
  exit $status
fi
"$clang_format" -i "${cxx[@]}"
"$black" --quiet --line-length 100 "${py[@]}"
