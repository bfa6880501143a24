#!/usr/bin/env bash
# End-to-end test of `overblik listing import` (issue 21, R-ACC-1): the GP listings of the
# national health-insurance register as an import feed. A patient who changes GP: the old
# clinic's relationship ends, the new one's starts (decide says so), the patient's log shows
# the change; a repeated feed changes nothing; a bad line changes nothing; a deregistration
# ends the listing; a change dated before the current listing is refused; no CPR number in
# any output (R-CPR-2). Prints "N passed, M failed".
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq sqlite3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"
export USER=registerops
"$bin" gen --out "$work/d.ndjson" --patients 300 --seed 3 >/dev/null
"$bin" init --db "$db" >/dev/null && "$bin" load --db "$db" "$work/d.ndjson" >/dev/null || {
  echo "setup failed"; exit 1; }
pat() { jq -r "select(.type==\"patient\" and .id==\"$1\") | .$2" "$work/d.ndjson"; }
prov() { jq -r "select(.type==\"org\" and .id==\"$1\") | .provider_number" "$work/d.ndjson"; }
cpr=$(pat pt-0 cpr)
old=$(pat pt-0 gp)
new=gp-1; [ "$old" = gp-1 ] && new=gp-0
decide() {
  "$bin" decide --db "$db" <<<"{\"actor\":{\"professional\":\"$1-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"TREAT\",\"at\":\"$2\"}" 2>&1
}
r=$(decide "$new" 2026-11-20T10:00:00Z)
has "before: the new clinic has no relationship" "$r" '"decision":"deny"'
r=$(decide "$old" 2026-11-20T10:00:00Z)
has "before: the old clinic is the GP" "$r" '"decision":"permit"'

# the move: one line of the register's feed
printf '{"cpr":"%s","provider_number":"%s","from":"2026-12-01"}\n' "$cpr" "$(prov $new)" >"$work/feed.ndjson"
out=$("$bin" listing import --db "$db" "$work/feed.ndjson" 2>&1); rc=$?
eq "the feed is applied" "$rc" 0
has "one change" "$out" '"changed":1'
hasnt "R-CPR-2 no CPR in the import's output" "$out" "$cpr"
r=$(decide "$new" 2026-12-02T10:00:00Z)
has "R-ACC-1 after the move: the new clinic treats the patient" "$r" '"decision":"permit"'
r=$(decide "$old" 2026-12-02T10:00:00Z)
has "R-ACC-1 after the move: the old clinic's listing has ended" "$r" '"decision":"deny"'
r=$(decide "$old" 2026-11-20T10:00:00Z)
has "the old listing still covers the time before the move" "$r" '"decision":"permit"'
log=$("$bin" log show --db "$db" --patient pt-0 --json 2>&1)
has "R-LOG-1 the change is in the patient's log" "$log" 'GP listing as the national health-insurance register reports it'
has "R-LOG-1 the log names the operator who ran the feed" "$log" 'operator:registerops'
eq "the patient's GP is the new clinic after a restart (the change is stored)" \
  "$("$bin" decide --db "$db" <<<"{\"actor\":{\"professional\":\"$new-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"TREAT\"}" | jq -r .decision)" permit

# the register repeats itself: nothing changes, nothing is logged
n0=$(sqlite3 "$db" 'select count(*) from records')
out=$("$bin" listing import --db "$db" - <"$work/feed.ndjson" 2>&1); rc=$?
eq "a repeated feed succeeds" "$rc" 0
has "a repeated feed changes nothing" "$out" '"changed":0,"unchanged":1'
eq "a repeated feed stores nothing" "$(sqlite3 "$db" 'select count(*) from records')" "$n0"

# a bad line anywhere: nothing is applied, the line is named, the CPR is not shown
cpr1=$(pat pt-1 cpr)
{ printf '{"cpr":"%s","provider_number":"%s","from":"2026-12-01"}\n' "$cpr1" "$(prov gp-0)"
  printf '{"cpr":"%s","provider_number":"999999","from":"2026-12-01"}\n' "$cpr1"
  printf '{"cpr":"010101-0000","provider_number":"%s","from":"2026-12-01"}\n' "$(prov gp-0)"
  printf '{"cpr":"%s","provider_number":"%s","from":"2026-13-01"}\n' "$cpr1" "$(prov gp-0)"
  printf '{"cpr":"%s","provider_number":"%s","from":"2026-12-01","note":"x"}\n' "$cpr1" "$(prov gp-0)"
} >"$work/bad.ndjson"
out=$("$bin" listing import --db "$db" "$work/bad.ndjson" 2>&1); rc=$?
eq "bad lines: exit 1" "$rc" 1
has "an unknown provider number is named by line" "$out" "line 2: no GP clinic has that provider number"
has "an unknown person is named by line" "$out" "line 3: no patient with that CPR number"
has "a bad date is named by line" "$out" "line 4: field 'from'"
has "an unknown field is refused" "$out" "line 5:"
has "nothing was changed" "$out" "nothing was changed"
hasnt "R-CPR-2 no CPR in the errors" "$out" "$cpr1"
hasnt "R-CPR-2 no unknown CPR in the errors" "$out" "010101-0000"
eq "bad lines: nothing stored" "$(sqlite3 "$db" 'select count(*) from records')" "$n0"

# a change dated before the current listing began: the register reports in order
printf '{"cpr":"%s","provider_number":"%s","from":"2026-11-01"}\n' "$cpr" "$(prov $old)" >"$work/late.ndjson"
out=$("$bin" listing import --db "$db" "$work/late.ndjson" 2>&1); rc=$?
eq "an out-of-order change: exit 1" "$rc" 1
has "an out-of-order change says why" "$out" "dated before the patient's current listing began"

# deregistration (left the GP scheme, e.g. moved abroad): the listing ends, no new one
printf '{"cpr":"%s","provider_number":null,"from":"2026-12-10"}\n' "$cpr" >"$work/out.ndjson"
out=$("$bin" listing import --db "$db" "$work/out.ndjson" 2>&1); rc=$?
eq "a deregistration is applied" "$rc" 0
r=$(decide "$new" 2026-12-11T10:00:00Z)
has "R-ACC-1 after deregistration the clinic has no relationship" "$r" '"decision":"deny"'
r=$(decide "$new" 2026-12-05T10:00:00Z)
has "the listing still covers its own period" "$r" '"decision":"permit"'

# usage
out=$("$bin" listing import --db "$db" "$cpr" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a CPR number as the file name is refused"
hasnt "R-CPR-2 a CPR given as an argument is not echoed" "$out" "$cpr"

echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
