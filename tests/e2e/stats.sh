#!/usr/bin/env bash
# End-to-end test of `overblik stats` (R-STAT-1..7) on a real SQLite file: a generated data
# set, a cluster release in every format, no released figure under k, the audit for the
# outsider and every member, differencing against the stored earlier release, rounding,
# the DP budget, planning (k = 10), clinic-local figures, who may order a release, retention
# and --help. Every check can fail. Prints "N passed, M failed".
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/s.db"
P=(--from 2025-11-01 --to 2026-11-01 --report-date 2026-11-01)
S=("$bin" stats cluster --db "$db" --cluster klynge-0 --code T90)
sets() { dbq "$db" "select count(*) from stats_release_set s join stats_release r on r.id=s.release where r.cluster='$1'"; }
# no released figure (cells, row totals, column totals, grand total) in 1..k-1; listed >= k
small() { jq --argjson k "$2" '[(.rows[] | .listed, .diagnosed, .cells[]), .total.diagnosed,
          .total.cells[] | select(type == "number" and . > 0 and . < $k)] | length' "$1"; }

"$bin" init --db "$db" >/dev/null && ok || bad "init"
"$bin" gen --db "$db" --patients 4000 --seed 5 >/dev/null && ok || bad "gen"

# --help on each command
for c in "" cluster planning expire; do
  out=$("$bin" stats $c --help 2>&1); rc=$?
  [ $rc -eq 0 ] && ok || bad "stats $c --help exits 0 (rc=$rc)"
  has "stats $c --help shows usage" "$out" "usage: overblik stats"
done
"$bin" --help | grep -q "stats" && ok || bad "stats listed in overblik --help"

# text: the report ends with the audit for the outsider and every member (R-STAT-2)
out=$("${S[@]}" "${P[@]}"); rc=$?
[ $rc -eq 0 ] && ok || bad "stats cluster text (rc=$rc: $out)"
has "text has a totals row" "$out" "total "
has "audit for the outsider" "$out" "outsider     safe"
hasnt "no unsafe attacker" "$out" "UNSAFE"
members=$(sed -n '/^audit/,$p' <<<"$out" | grep -c '^  K-[0-9A-F]* *safe')
[ "$members" -eq 4 ] && ok || bad "audit names each of the 4 member clinics as safe (got $members)"
has "pseudonyms, not provider numbers (R-STAT-3)" "$out" "labels: pseudonyms"
has "the release and its log entry" "$out" "recorded; log entry"
tail -1 <<<"$out" | grep -q "^  any 2 clinics *safe" && ok || bad "the text ends with the audit summary (pairs of clinics)"

# json: no released figure rests on 1..k-1 patients; audit passed for everyone
"${S[@]}" "${P[@]}" --format json > "$work/a.json" && ok || bad "json release"
[ "$(small "$work/a.json" 5)" = 0 ] && ok || bad "a released figure is in 1..4"
[ "$(jq '.audit.passed' "$work/a.json")" = true ] && ok || bad "audit passed"
[ "$(jq '.audit.outsider.result' "$work/a.json")" = '"safe"' ] && ok || bad "outsider safe"
[ "$(jq '[.audit.members[] | select(.result == "safe")] | length' "$work/a.json")" = 4 ] && ok || bad "every member safe"
[ "$(jq '[.rows[].cells[] | select(type == "string")] | length' "$work/a.json")" -gt 0 ] && ok || bad "something is suppressed on this small data set"
[ "$(jq '.k' "$work/a.json")" = 5 ] && ok || bad "k = 5 for a cluster"

# csv and svg (suppressed cells visibly marked)
out=$("${S[@]}" "${P[@]}" --format csv); has "csv header" "$out" "clinic,listed,diagnosed"
"${S[@]}" "${P[@]}" --format svg --out "$work/a.svg" 2>/dev/null && ok || bad "svg --out"
grep -q "<svg" "$work/a.svg" && ok || bad "svg written"
grep -q 'id="hatch"' "$work/a.svg" && ok || bad "svg marks suppressed bars"

# under valgrind (OB_TEST_SCALE set by scripts/valgrind.sh) the first release and its formats
# are enough: every later release audits a growing history, minutes each under valgrind
if [ -n "${OB_TEST_SCALE:-}" ]; then
  the_end
  exit
fi

# differencing (R-STAT-2): a period a week longer differs from the stored release by a few
# patients in some figures: they are hidden (or the release is refused)
"${S[@]}" --from 2025-06-01 --to 2026-06-01 --report-date 2026-11-01 --format json > "$work/d1.json" || bad "first release"
"${S[@]}" --from 2025-06-01 --to 2026-06-08 --report-date 2026-11-01 --format json > "$work/d2.json"; rc=$?
if [ $rc -eq 5 ]; then ok; else
  h1=$(jq '[.rows[].cells[], .total.cells[] | select(. == "suppressed")] | length' "$work/d1.json")
  h2=$(jq '[.rows[].cells[], .total.cells[] | select(. == "suppressed")] | length' "$work/d2.json")
  [ "$h2" -gt "$h1" ] && ok || bad "differencing hides more in the second release ($h1 -> $h2)"
  # no released figure of the second release is within 1..4 patients of a nested figure of
  # the first: compare same-position released figures of the two
  diffs=$(jq -n --slurpfile a "$work/d1.json" --slurpfile b "$work/d2.json" '
     [([$a[0].rows[].cells[]] | to_entries[]) as $x | ([$b[0].rows[].cells[]][$x.key]) as $y
      | select(($x.value|type) == "number" and ($y|type) == "number")
      | ($y - $x.value) | select(. > 0 and . < 5)] | length')
  [ "$diffs" = 0 ] && ok || bad "$diffs released cells grew by 1..4 patients between the releases"
fi
# the same release again is allowed (identical sets)
"${S[@]}" "${P[@]}" --format json > "$work/a2.json" && ok || bad "a repeated release is allowed"

# rounding: released figures are multiples of 5 and still none under k
"${S[@]}" "${P[@]}" --mode round --format json > "$work/r.json" && ok || bad "round mode"
[ "$(jq '[.rows[].cells[] | select(type == "number" and . % 5 != 0)] | length' "$work/r.json")" = 0 ] && ok || bad "rounded to 5"

# differential privacy: epsilon charged to the cluster's budget (3), refused once spent
"${S[@]}" "${P[@]}" --mode dp --epsilon 2 --format csv >/dev/null && ok || bad "dp release"
out=$("${S[@]}" "${P[@]}" --mode dp --epsilon 2 2>&1); rc=$?
[ $rc -eq 5 ] && ok || bad "dp release over budget refused with exit 5 (rc=$rc)"
has "budget named" "$out" "budget"

# planning statistics: k = 10 (R-STAT-6)
"$bin" stats planning --db "$db" --municipality mun-0 --code T90 "${P[@]}" --format json > "$work/p.json" && ok || bad "planning"
[ "$(jq '.k' "$work/p.json")" = 10 ] && ok || bad "planning k = 10"
[ "$(small "$work/p.json" 10)" = 0 ] && ok || bad "a planning figure is in 1..9"

# clinic-local (R-STAT-5): one row, the clinic's former patients included
"${S[@]}" "${P[@]}" --clinic gp-1 --format json > "$work/c.json" && ok || bad "clinic-local"
[ "$(jq '.rows | length' "$work/c.json")" = 1 ] && ok || bad "clinic-local has one row"
[ "$(small "$work/c.json" 5)" = 0 ] && ok || bad "clinic-local figure in 1..4"
out=$("${S[@]}" "${P[@]}" --clinic hosp-0 2>&1); [ $? -eq 1 ] && ok || bad "--clinic must be a member"

# who may order: the coordinator yes, another member's doctor no; unknown cluster
"${S[@]}" "${P[@]}" --as gp-0-dr0 >/dev/null && ok || bad "coordinator may order"
out=$("${S[@]}" "${P[@]}" --as gp-1-dr0 2>&1); rc=$?
[ $rc -eq 5 ] && ok || bad "a non-coordinator is refused (rc=$rc)"
out=$("$bin" stats cluster --db "$db" --cluster nope --code T90 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "unknown cluster exits 1 (rc=$rc)"
out=$("$bin" stats cluster --db "$db" --cluster klynge-0 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "missing --code is a usage error (rc=$rc)"

# the audit's work limit (R-STAT-8, docs/statistics.md): a release whose joint audit needs
# more is refused with the reason, exit 5, logged as a refusal, nothing recorded; the same
# query gets the same answer (a count, not a time)
nrel=$(dbq "$db" "select count(*) from stats_release")
nlog=$(dbq "$db" "select count(*) from log_entries" "select count(*) from log_pg_entry")
for k in 1 2; do
  out=$(OVERBLIK_STATS_WORK_LIMIT=200 "${S[@]}" "${P[@]}" --bands 135 2>&1); rc=$?
  [ $rc -eq 5 ] && ok || bad "over the work limit: refused, exit 5 (rc=$rc: $out)"
  has "the refusal says why ($k)" "$out" "work limit"
done
[ "$(dbq "$db" "select count(*) from stats_release")" = "$nrel" ] && ok ||
  bad "a refused release is not recorded"
[ "$(dbq "$db" "select count(*) from log_entries" "select count(*) from log_pg_entry")" = $((nlog + 2)) ] && ok ||
  bad "each refusal is one log entry"

# every release is recorded and logged
n=$(dbq "$db" "select count(*) from stats_release")
[ "$n" -ge 12 ] && ok || bad "releases recorded ($n)"
"$bin" log verify --db "$db" >/dev/null && ok || bad "log still verifies"

# retention (R-STAT-7): klynge-0 keeps data sets for 12 months. A release made 14 months
# ago (the test clock may only move back, and only with OB_TEST_CLOCK=1) has its data sets
# deleted by today's expiry; what it published stays (differencing needs it, R-STAT-8)
before=$(sets klynge-0)
[ "$before" -gt 0 ] && ok || bad "data sets stored"
out=$("$bin" stats expire --db "$db"); has "nothing expires today" "$out" "0 release(s)"
[ "$(sets klynge-0)" = "$before" ] && ok || bad "data sets kept within retention"
later=$(date -u -d '+14 months' +%Y-%m-%d)
out=$("$bin" stats expire --db "$db" --now "$later" 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "--now refused without the test clock (rc=$rc)"
out=$(OB_TEST_CLOCK=1 "$bin" stats expire --db "$db" --now "$later" 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "--now may not move the clock forward (rc=$rc)"
[ "$(sets klynge-0)" = "$before" ] && ok || bad "a refused clock move deleted nothing"
earlier=$(date -u -d '-14 months' +%Y-%m-%d)
OB_TEST_CLOCK=1 "${S[@]}" --from 2024-06-01 --to 2025-06-01 --report-date 2025-06-01 --now "$earlier" >/dev/null && ok || bad "a release made 14 months ago"
pub=$(dbq "$db" "select count(*) from stats_published")
out=$("$bin" stats expire --db "$db"); rc=$?
[ $rc -eq 0 ] && ok || bad "expire (rc=$rc)"
has "the old release's data sets deleted" "$out" "1 release(s)"
[ "$(dbq "$db" "select count(*) from stats_release where expired is not null")" = 1 ] && ok || bad "one release expired"
[ "$(sets klynge-0)" = "$before" ] && ok || bad "the recent releases' data sets kept"
[ "$(dbq "$db" 'select count(*) from stats_published')" = "$pub" ] && ok || bad "published tables kept"
[ "$(dbq "$db" 'select count(*) from stats_release')" -ge "$n" ] && ok || bad "release records kept"
"$bin" log verify --db "$db" >/dev/null && ok || bad "log verifies after expiry"

the_end
