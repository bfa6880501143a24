#!/usr/bin/env bash
# The linked auditor's cost per release against the number of earlier releases
# (docs/performance.md, "Statistics: the linked audit"): bench_stats_linked (bench/stats_linked.c,
# a 30-clinic cluster in memory) built twice from this bench, once with src/stats/linked.c of
# commit OLD and once with the working tree's, then run alternately, old then new, for each H.
# Each run protects the release with H earlier ones (--at H; the history is published first,
# each earlier release protected with the ones before it, and timed too). A run longer than
# LIMIT seconds (default 1800) is stopped and reported as such.
# Usage: bench/stats_linked.sh OLD "0 1 2 3 5" [ROUNDS]   (run under nice -n 10)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
old=${1:?usage: bench/stats_linked.sh OLD-COMMIT \"H ...\" [ROUNDS]}
hs=${2:-"0 1 2 3 5"}
rounds=${3:-1}
limit=${LIMIT:-1800}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build=${BUILD:-$root/build}
[ -f "$build/libob.a" ] || { echo "build $build first (cmake --build build)" >&2; exit 1; }
cflags=(-O2 -g -DNDEBUG -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$root/src")
libs=("$build/libob.a" -lsqlite3 -lsodium -ljansson -lmicrohttpd -ljwt -lcrypto -lgnutls -lcurl
      -lm -lglpk)
git -C "$root" show "$old:src/stats/linked.c" >"$work/linked_old.c" || exit 1
cc "${cflags[@]}" "$work/linked_old.c" "$root/bench/stats_linked.c" "${libs[@]}" -o "$work/old" &&
  cc "${cflags[@]}" "$root/src/stats/linked.c" "$root/bench/stats_linked.c" "${libs[@]}" \
    -o "$work/new" || exit 1
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
  "load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
echo "| earlier releases | round | $old: hidden, time | new: hidden, time |"
echo "|---|---|---|---|"
one() { # binary H -> "hidden, time" of the release with H earlier ones
  local out
  out=$(timeout "$limit" "$1" --at "$2" 2>&1) || { echo "stopped after ${limit} s"; return; }
  echo "$out" | awk -F'|' -v h="$2" '$2 ~ "^ " h " $" { gsub(/^ +| +$/, "", $3);
    gsub(/^ +| +$/, "", $5); print $3 ", " $5 }'
}
for h in $hs; do
  for r in $(seq 1 "$rounds"); do
    a=$(one "$work/old" "$h")
    b=$(one "$work/new" "$h")
    echo "| $h | $r | $a | $b |"
  done
done
