#!/usr/bin/env bash
# startup.sh [BIN] [SIZES] - how a server's start-up time and memory grow with the number of
# patients (issue 18, "national scale"): for each size, `overblik gen` writes a database of
# that many synthetic patients, then `overblik serve` is started on it three times; the time
# from exec to "listening" (the index rebuilt from the records, the log opened and checked)
# and the resident memory once listening are printed as a Markdown table row, with the gen
# time, the database size and the records loaded. Databases live in a temporary directory
# and are deleted after each size. Defaults: build/overblik, "100000 300000 1000000".
set -euo pipefail
bin=${1:-build/overblik}
sizes=${2:-"100000 300000 1000000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| patients | gen (s) | records | database (MB) | start-up (s), 3 runs | resident (MB) |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
  db="$work/p$n.db"
  "$bin" init --db "$db" >/dev/null
  t0=$(date +%s.%N)
  recs=$("$bin" gen --db "$db" --patients "$n" --seed 1 | grep -o '[0-9]* records' | cut -d' ' -f1)
  t1=$(date +%s.%N)
  mb=$(( $(stat -c %s "$db") / 1048576 ))
  starts=() rss=0
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    "$bin" serve --db "$db" --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
    pid=$!
    until grep -q listening "$work/out" 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
      sleep 0.05
    done
    e=$(date +%s.%N)
    starts+=("$(printf '%.1f' "$(echo "$e - $s" | bc)")")
    rss=$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 ))
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  printf '| %s | %.0f | %s | %s | %s | %s |\n' "$n" "$(echo "$t1 - $t0" | bc)" "$recs" "$mb" \
    "${starts[*]}" "$rss"
  "$bin" init --db "$db" --force >/dev/null 2>&1 || rm -f "$db"*
  rm -f "$work"/p"$n".*
done
