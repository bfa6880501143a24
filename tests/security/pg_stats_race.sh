#!/usr/bin/env bash
# Attack (T-STAT-20): two releases of one cluster ordered at the same time on two servers of
# one PostgreSQL database. Each release is audited against every earlier kept release of the
# cluster (R-STAT-2), but the audit runs before the release's transaction: two audits that
# overlap each see a history without the other, so together they publish what one after the
# other would not (here a period a week longer, which on its own reveals a figure one patient
# away from the other release's). Now a release's transaction takes the statistics' lock and
# refuses the release when an audited release was recorded since its audit read the history;
# the server audits it again. The two releases must be exactly the ones made one after the
# other (the reference: the same data and keys on SQLite, one server), and the privacy budget
# charged by noisy releases on both servers at once must not be overspent. The servers pause
# each release between its audit and its transaction (OB_TEST_STATS_PAUSE_MS, tests only),
# so the two overlap every time. Fails without the check in apply_release (the later release
# is its table alone).
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
. "$(dirname "$0")/../e2e/pg_lib.bash"
export OB_TEST_CLOCK=1 OB_TEST_STATS_PAUSE_MS=1500
PG_GEN_PATIENTS=2000 PG_GEN_SEED=5 pg_two_servers
cl=klynge-0
coord=$(jq -r --arg c "$cl" 'select(.type=="cluster" and .id==$c) | .coordinators[0]' "$nd")
csite=$(jq -r --arg c "$coord" 'select(.type=="professional" and .id==$c) | .sites[0]' "$nd")
t=$("$bin" token --db "$work/k.db" --kind professional --sub "$coord" --site "$csite")
qa='{"cluster":"'$cl'","code":"T90","from":"2025-06-01","to":"2026-06-01","report_date":"2026-11-01","format":"json"}'
qb='{"cluster":"'$cl'","code":"T90","from":"2025-06-01","to":"2026-06-08","report_date":"2026-11-01","format":"json"}'
post() { # post ADDR BODY OUT: the HTTP status
  curl -s -o "$3" -w '%{http_code}' -X POST -H "Authorization: Bearer $t" \
    -H "Content-Type: application/json" "$1/api/stats/cluster" --data-binary "$2"
}
table() { jq -c '{rows, total}' "$1"; } # what a release published

# the reference: one after the other, both orders, on SQLite with the same data and keys
ref() { # ref NAME FIRST SECOND: FIRST then SECOND on a fresh SQLite copy
  mkdir "$work/$1" && cp "$work"/k0/k.* "$work/$1/" &&
    "$bin" load --db "$work/$1/k.db" "$nd" >/dev/null 2>&1 || { bad "load the reference"; return; }
  local p a
  serve_bg p a "$work/$1.out" "$work/$1.err" --db "$work/$1/k.db" --jwks "$work/k.jwks.json" \
    --listen 127.0.0.1:0 --threads 2
  pids+=("$p")
  eq "reference $1: the first release" "$(post "$a" "$2" "$work/$1-1.json")" 200
  eq "reference $1: the second release" "$(post "$a" "$3" "$work/$1-2.json")" 200
  kill "$p"; wait "$p" 2>/dev/null
}
ref ab "$qa" "$qb"
ref ba "$qb" "$qa"
# the attack needs releases that the history changes: alone, each publishes more
[ "$(table "$work/ab-2.json")" != "$(table "$work/ba-1.json")" ] && ok ||
  bad "the longer period after the shorter one differs from it alone"
[ "$(table "$work/ba-2.json")" != "$(table "$work/ab-1.json")" ] && ok ||
  bad "the shorter period after the longer one differs from it alone"

# the attack: both at once, one on each server
post "$addr_a" "$qa" "$work/a.json" >"$work/a.code" &
ca=$!
post "$addr_b" "$qb" "$work/b.json" >"$work/b.code" &
cb=$!
wait "$ca" "$cb"
eq "release on server a" "$(cat "$work/a.code")" 200
eq "release on server b" "$(cat "$work/b.code")" 200
ida=$(jq .release.id "$work/a.json") idb=$(jq .release.id "$work/b.json")
if [ "$ida" -lt "$idb" ]; then first=ab; else first=ba; fi
if [ "$first" = ab ]; then one=a two=b; else one=b two=a; fi
eq "the first recorded is its table alone" "$(table "$work/$one.json")" "$(table "$work/$first-1.json")"
eq "the second recorded was audited against the first (as one after the other)" \
  "$(table "$work/$two.json")" "$(table "$work/$first-2.json")"
eq "two releases recorded" "$(sql "SELECT count(*) FROM stats_release WHERE cluster = '$cl'")" 2
eq "... both published tables kept for later audits" \
  "$(sql "SELECT count(*) FROM stats_published WHERE cluster = '$cl'")" 2

# the budget: noisy releases on both servers at once spend at most the cluster's epsilon
eps=$(jq -r --arg c "$cl" 'select(.type=="cluster" and .id==$c) | .epsilon // empty' "$nd")
[ -n "$eps" ] && ok || bad "the cluster has a privacy budget"
each=$(awk -v e="$eps" 'BEGIN { printf "%.3f", e / 2 }') # two fit, not three
qd='{"cluster":"'$cl'","code":"T90","mode":"dp","epsilon":'$each',"from":"2025-11-01","to":"2026-11-01","report_date":"2026-11-01","format":"json"}'
dpids=()
for i in 1 2; do
  for s in a b; do
    addr=addr_$s
    post "${!addr}" "$qd" "$work/dp-$s$i.json" >"$work/dp-$s$i.code" &
    dpids+=($!)
  done
done
wait "${dpids[@]}"
codes=$(for f in "$work"/dp-*.code; do cat "$f"; echo; done)
eq "two of four noisy releases at once made" "$(grep -c '^200$' <<<"$codes")" 2
eq "... the other two refused" "$(grep -c '^422$' <<<"$codes")" 2
spent=$(sql "SELECT max(spent_milli) FROM stats_budget_clinic")
cap=$(awk -v e="$eps" 'BEGIN { printf "%d", e * 1000 + 0.5 }')
[ "$spent" -le "$cap" ] && ok || bad "the budget overspent: $spent of $cap"
the_end
