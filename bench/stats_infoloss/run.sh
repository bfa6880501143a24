#!/usr/bin/env bash
# Information lost by suppression (docs/statistics.md): figures hidden per release on a fixed
# set of generated clusters - twelve small hand-shaped clusters (2-4 clinics, seeds 1-12, the
# attack suite's generator) and klynge-0 of `overblik gen --patients 4000 --seed 5` - for one
# or two binaries (e.g. a78fde3 and this one). A refused release counts all its figures.
# Usage: bench/stats_infoloss/run.sh BIN [BIN2]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gen="$here/../../tests/security/stats_gen.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
P=(--from 2025-11-01 --to 2026-11-01 --report-date 2026-11-01 --code T90 --format json)
hidden() { # hidden/total of a JSON release, or "refused"
  [ -s "$1" ] || { echo refused; return; }
  jq -r '[(.rows[] | .diagnosed, .cells[]), .total.diagnosed, .total.cells[]] as $a
         | "\([$a[] | select(type == "string")] | length)/\($a | length)"' "$1"
}
printf '| cluster |'; for b in "$@"; do printf ' %s |' "$(basename "$(dirname "$(dirname "$b")")")"; done; echo
printf '|---|'; for b in "$@"; do printf -- '---|'; done; echo
for seed in $(seq 1 12); do
  python3 - "$seed" >"$work/spec.json" <<'PY'
import json, random, sys
R = random.Random(int(sys.argv[1]))
n = R.choice([2, 3, 3, 4])
cl = {}
for i in range(n):
    nd = R.randint(6, 30)
    pats = []
    for j in range(nd):
        v = R.choice([None, 120, 135, 145, 155, 170, 125, 138, 142, 152, 165])
        pats.append(("-" if v is None else str(v)) + ("c" if R.random() < 0.5 else ""))
    cl["gp-%c" % (97 + i)] = {"listed": nd + R.choice([1, 2, 3, 4, 5, 8, 20]), "pat": pats}
print(json.dumps({"clinics": cl}))
PY
  python3 "$gen" <"$work/spec.json" >"$work/a.ndjson"
  printf '| small-%d (%d clinics) |' "$seed" "$(jq '.clinics | length' "$work/spec.json")"
  for b in "$@"; do
    rm -f "$work"/s.* "$work/r.json" # the database, its WAL and its key files
    "$b" init --db "$work/s.db" >/dev/null && "$b" load --db "$work/s.db" "$work/a.ndjson" >/dev/null
    "$b" stats cluster --db "$work/s.db" --cluster kl "${P[@]}" >"$work/r.json" 2>/dev/null
    printf ' %s |' "$(hidden "$work/r.json")"
  done
  echo
done
printf '| gen 4000/5 klynge-0 |'
for b in "$@"; do
  rm -f "$work"/g.* "$work/r.json"
  "$b" init --db "$work/g.db" >/dev/null && "$b" gen --db "$work/g.db" --patients 4000 --seed 5 >/dev/null
  "$b" stats cluster --db "$work/g.db" --cluster klynge-0 "${P[@]}" >"$work/r.json" 2>/dev/null
  printf ' %s |' "$(hidden "$work/r.json")"
done
echo
