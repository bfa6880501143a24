#!/usr/bin/env bash
# apt_store.sh - runs bench_apt_store (bench/apt_store.c) against a throwaway PostgreSQL 15
# and a SQLite file in the same temporary directory.
# usage: bench/apt_store.sh [patients] [apts] [threads] [seconds] [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_BIN:-$root/build/bench_apt_store}
[ -x "$bin" ] || { echo "build it first: cmake --build build --target bench_apt_store" >&2; exit 1; }
d=$(mktemp -d /tmp/obapt.XXXXXX); chmod 755 "$d"
trap 'bash "$root/scripts/pg/throwaway.sh" stop "$d/pg"; rm -rf "$d"' EXIT
kv=$(bash "$root/scripts/pg/throwaway.sh" start "$d/pg")
host=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"$kv"); port=$(sed -E 's/.*port=([^ ]+).*/\1/' <<<"$kv")
"$bin" "postgresql:///postgres?host=$host&port=$port&user=postgres" "$d" "$@"
