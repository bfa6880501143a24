#!/usr/bin/env bash
# Runs every unit-test binary of a build directory under valgrind memcheck, two at a time;
# any error or definite leak fails. The crash test forks and SIGKILLs children by design,
# so it runs with --child-silent-after-fork. The statistics property test runs 1/20 of its
# random tables (OB_TEST_SCALE). Usage: scripts/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
command -v valgrind >/dev/null || { echo "valgrind: not installed, skipping"; exit 0; }
one() {
  local t=$1 name
  name=$(basename "$t")
  if OB_TEST_SCALE=20 OB_SOURCE_DIR="$PWD" valgrind -q --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite --child-silent-after-fork=yes \
       "$t" >"$dir/$name.valgrind.log" 2>&1; then
    echo "valgrind: $name clean"
  else
    echo "valgrind: $name FAILED"; tail -30 "$dir/$name.valgrind.log"; return 1
  fi
}
export -f one
export dir
# largest (slowest) first, so the two lanes finish together
# shellcheck disable=SC2016 # $1 is for the inner shell
find "$dir" -maxdepth 1 -type f -executable -name '*_test_*' -printf '%s %p\n' | sort -rn |
  cut -d' ' -f2 | xargs -P 2 -I{} bash -c 'one "$1"' _ {}
echo "valgrind: every unit test clean"
