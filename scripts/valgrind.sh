#!/usr/bin/env bash
# Runs every unit-test binary of a build directory under valgrind memcheck, two at a time;
# any error or definite leak fails. The crash test forks and SIGKILLs children by design,
# so it runs with --child-silent-after-fork. The statistics property test runs 1/20 of its
# random tables (OB_TEST_SCALE). Then the end-to-end suites that drive the overblik binary
# (server and CLI) run with every overblik process under valgrind; the kill test (SIGKILL
# timing) and the FHIR validator (node) are left to the normal runs.
# Usage: scripts/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
command -v valgrind >/dev/null || { echo "valgrind: not installed, skipping"; exit 0; }
# run LABEL LOG COMMAND...: one line for the outcome, the log's tail on failure
run() {
  local label=$1 log=$2
  shift 2
  if "$@" >"$log" 2>&1; then
    echo "valgrind: $label passed"
  else
    echo "valgrind: $label FAILED"; tail -30 "$log"; return 1
  fi
}
one() {
  run "$(basename "$1")" "$dir/$(basename "$1").valgrind.log" \
    env OB_TEST_SCALE=20 OB_SOURCE_DIR="$PWD" valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --child-silent-after-fork=yes "$1"
}
export -f run one
export dir
# largest (slowest) first, so the two lanes finish together
# shellcheck disable=SC2016 # $1 is for the inner shell
# stats_test_api orders some twenty releases over a generated data set, each audited with all
# earlier ones by GLPK (40 s in a release build, an hour under valgrind): its release path is
# run under valgrind by e2e/stats below (first release, every format; OB_TEST_SCALE)
find "$dir" -maxdepth 1 -type f -executable -name '*_test_*' ! -name stats_test_api -printf '%s %p\n' | sort -rn |
  cut -d' ' -f2 | xargs -P 2 -I{} bash -c 'one "$1"' _ {}
echo "valgrind: every unit test passed"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
wrap=$logs/overblik
printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --log-file=%s/vg.%%p.log %s "$@"\n' \
  "$logs" "$PWD/$dir/overblik" >"$wrap"
chmod +x "$wrap"
e2e() {
  run "e2e/$1" "$dir/e2e-$1.valgrind.log" env OB_TEST_SCALE=20 OB_SOURCE_DIR="$PWD" OB_BIN="$wrap" bash "tests/e2e/$1.sh"
}
export -f e2e
export wrap
# shellcheck disable=SC2016 # $1 is for the inner shell
printf '%s\n' fhir_flow http stats cli events listing | xargs -P 2 -I{} bash -c 'e2e "$1"' _ {}
if cat "$logs"/vg.*.log | grep -q .; then
  echo "valgrind: errors or leaks in overblik processes:"; cat "$logs"/vg.*.log | head -60; exit 1
fi
echo "valgrind: $(find "$logs" -name 'vg.*.log' | wc -l) overblik processes clean"
