#!/usr/bin/env bash
# run.sh - the single-rule peer comparison in one run (docs/bench-decide.md): builds
# bench_decide, exports one generated data set and request sample, then times on that
# same data the overblik engine, a bare C hash lookup, Cedar (cedar-wasm) and Casbin
# (node-casbin), and prints one table with decisions/s and the ratio overblik/peer.
#
# Environment (all optional):
#   PATIENTS=100000    patients in the generated index (all contenders use this size;
#                      Casbin needs minutes to load the role links of 1,000,000)
#   REQUESTS=2000000   requests of the realistic mix bench_decide times first
#   COMPARE=2000000    size of the single-rule request sample (the C contenders use all)
#   CEDAR_N=50000      first requests of the sample that Cedar decides
#   CASBIN_N=100000    first requests of the sample that Casbin decides
#   ROUNDS=3           timed rounds per contender; the median is reported
#   BUILD_DIR=build-bench, BUILD_TYPE=Release, KEEP=1 keeps the exported data (printed path)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PATIENTS=${PATIENTS:-100000}
REQUESTS=${REQUESTS:-2000000}
COMPARE=${COMPARE:-2000000}
CEDAR_N=${CEDAR_N:-50000}
CASBIN_N=${CASBIN_N:-100000}
ROUNDS=${ROUNDS:-3}
BUILD_DIR=${BUILD_DIR:-build-bench}
BUILD_TYPE=${BUILD_TYPE:-Release}
case "$BUILD_DIR" in /*) build=$BUILD_DIR ;; *) build=$root/$BUILD_DIR ;; esac

echo "== build bench_decide ($build, $BUILD_TYPE)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build "$build" -j2 --target bench_decide >/dev/null

echo "== install peers (npm)"
cd "$here"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
    npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

data=$(mktemp -d "${TMPDIR:-/tmp}/overblik-peers.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$data"' EXIT
fi

echo "== overblik engine and hash baseline (C, one thread), export to $data"
"$build/bench_decide" --patients "$PATIENTS" --requests "$REQUESTS" --compare "$COMPARE" \
    --rounds "$ROUNDS" --export "$data" | tee "$data/c.txt"
echo "== Cedar"
node --max-old-space-size=8192 "$here/cedar.mjs" "$data" "$CEDAR_N" "$ROUNDS" | tee "$data/cedar.txt"
echo "== Casbin"
node --max-old-space-size=8192 "$here/casbin.mjs" "$data" "$CASBIN_N" "$ROUNDS" | tee "$data/casbin.txt"

val() { awk -v k="$1" '$1 == "RESULT" && $2 == k { print $3 }' "$data"/*.txt; }
engine=$(val rule_engine)
echo
echo "Single rule: current treatment relationship and no professional block; $PATIENTS patients,"
echo "one thread, whole-loop timing, median of $ROUNDS rounds, all on the same exported data."
printf '%-28s %14s %12s %10s %14s\n' contender decisions/s overblik/x requests disagreements
row() { # name rate n mismatches
    printf '%-28s %14.0f %12.2f %10s %14s\n' "$1" "$2" "$(echo "$engine / $2" | bc -l)" "$3" "$4"
}
row "overblik ob_policy_decide" "$engine" "$COMPARE" 0
row "C hash lookup (baseline)" "$(val rule_baseline)" "$COMPARE" "$(val rule_mismatch)"
row "Cedar (cedar-wasm)" "$(val cedar)" "$(val cedar_n)" "$(val cedar_mismatch)"
row "Casbin (node-casbin)" "$(val casbin)" "$(val casbin_n)" "$(val casbin_mismatch)"
echo "(disagreements: decisions that differ from overblik's engine; 0 expected)"
echo "realistic mix (same run): $(val mix_rate) decisions/s; p50 $(val mix_p50_ns) ns," \
    "p99 $(val mix_p99_ns) ns, p99.9 $(val mix_p999_ns) ns"
