#!/usr/bin/env bash
# log_pg.sh - runs bench_log_pg (bench/log_pg.c) against a throwaway PostgreSQL 15 and the
# SQLite log in the same temporary directory. usage: bench/log_pg.sh [seconds] [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_BIN:-$root/build/bench_log_pg}
[ -x "$bin" ] || { echo "build it first: cmake --build build --target bench_log_pg" >&2; exit 1; }
d=$(mktemp -d /tmp/oblogpg.XXXXXX); chmod 755 "$d"
trap 'bash "$root/scripts/pg/throwaway.sh" stop "$d/pg"; rm -rf "$d"' EXIT
ci=$(bash "$root/scripts/pg/throwaway.sh" start "$d/pg")
"$bin" "$ci" "$d" "${1:-3}" "${2:-2}"
