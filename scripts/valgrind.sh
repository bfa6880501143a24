#!/usr/bin/env bash
# Runs every unit-test binary of a build directory under valgrind memcheck; any error or
# definite leak fails. The crash test forks and SIGKILLs children by design, so it runs
# with --child-silent-after-fork. Usage: scripts/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
command -v valgrind >/dev/null || { echo "valgrind: not installed, skipping"; exit 0; }
fail=0
for t in "$dir"/*_test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if OB_SOURCE_DIR="$PWD" valgrind -q --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite --child-silent-after-fork=yes \
       "$t" >"$dir/$name.valgrind.log" 2>&1; then
    echo "valgrind: $name clean"
  else
    echo "valgrind: $name FAILED"; tail -30 "$dir/$name.valgrind.log"; fail=1
  fi
done
exit $fail
