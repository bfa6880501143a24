#!/usr/bin/env bash
# run.sh - peer comparison for the cluster report: the same generated data (1,000,000
# patients, 10,000,000 observations) aggregated by overblik's C core, by SQLite (sqlite3 CLI)
# and by DuckDB (@duckdb/node-api, installed into bench/stats_peers/node_modules), in the same
# run. Query times exclude loading for the databases, and generation for overblik. The
# script checks that all three compute the same per-clinic counts before printing timings.
# Usage: bench/stats_peers/run.sh [build-dir]   (default build-stats)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-stats}"
reps="${REPS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -x "$build/bench_stats_report" ] || { echo "run.sh: build $build/bench_stats_report first" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "run.sh: sqlite3 CLI missing" >&2; exit 1; }

echo "== overblik (C)"
"$build/bench_stats_report" --csv "$work" --reps "$reps" | tee "$work/c.out" | grep -E "^(data|cluster|  |RESULT)"

echo "== SQLite $(sqlite3 --version | cut -d' ' -f1)"
sqlite3 "$work/db.sqlite" <<SQL
CREATE TABLE clinics(id INTEGER PRIMARY KEY, provider TEXT, cluster INTEGER);
CREATE TABLE patients(id INTEGER PRIMARY KEY, clinic INTEGER, list_from INTEGER, list_to INTEGER);
CREATE TABLE diagnoses(patient INTEGER, code TEXT, time INTEGER);
CREATE TABLE observations(patient INTEGER, kind INTEGER, time INTEGER, value INTEGER);
CREATE TABLE checkups(patient INTEGER, time INTEGER);
.mode csv
.import --skip 1 $work/clinics.csv clinics
.import --skip 1 $work/patients.csv patients
.import --skip 1 $work/diagnoses.csv diagnoses
.import --skip 1 $work/observations.csv observations
.import --skip 1 $work/checkups.csv checkups
CREATE INDEX obs_patient ON observations(patient);
CREATE INDEX diag_patient ON diagnoses(patient);
CREATE INDEX chk_patient ON checkups(patient);
ANALYZE;
SQL
best=""
for i in $(seq "$reps"); do
  s=$(date +%s.%N)
  sqlite3 -csv "$work/db.sqlite" < "$here/query.sql" > "$work/sqlite_rows.csv"
  e=$(date +%s.%N)
  ms=$(echo "($e - $s) * 1000" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$ms < $best" | bc -l)" = 1 ]; then best=$ms; fi
done
printf 'RESULT sqlite_query_ms=%.1f (indexed, CLI process start included, best of %s)\n' "$best" "$reps"
sqlite_ms=$best

echo "== DuckDB (node)"
if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent @duckdb/node-api >/dev/null)
fi
node "$here/duck.mjs" "$work" "$reps" | tee "$work/duck.out"
duck_ms=$(sed -n 's/.*duckdb_query_ms=\([0-9.]*\).*/\1/p' "$work/duck.out")

# same numbers? expected.csv has clinic,listed,diagnosed,b1..b5,nosbp,checkup,no-checkup
cut -d, -f1-10 "$work/expected.csv" > "$work/c_rows.csv"
tr -d '"' < "$work/sqlite_rows.csv" > "$work/s.csv"
if ! diff -q "$work/c_rows.csv" "$work/s.csv" >/dev/null; then
  echo "run.sh: SQLite computed different counts" >&2; diff "$work/c_rows.csv" "$work/s.csv" | head >&2; exit 1
fi
if ! diff -q "$work/c_rows.csv" "$work/duckdb_rows.csv" >/dev/null; then
  echo "run.sh: DuckDB computed different counts" >&2; diff "$work/c_rows.csv" "$work/duckdb_rows.csv" | head >&2; exit 1
fi
c_agg=$(sed -n 's/.*c_aggregation_ms=\([0-9.]*\).*/\1/p' "$work/c.out")
c_e2e=$(sed -n 's/.*c_end_to_end_ms=\([0-9.]*\).*/\1/p' "$work/c.out")
echo "== same counts from all three; comparison (ms, best of $reps)"
printf '%-40s %10s\n' "overblik aggregation" "$c_agg" "overblik end to end (+suppression, audit)" "$c_e2e" \
  "SQLite query (aggregation only)" "$(printf %.1f "$sqlite_ms")" "DuckDB query (aggregation only)" "$duck_ms"
