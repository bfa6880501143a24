#!/usr/bin/env bash
# End-to-end test of "Hvad bruges mine data til" (issue 26): GET /fhir/Patient/<id>/$uses on a
# real server over a generated data set with a quality-cluster release and research reads.
# The patient sees the release that counted them (rule R-STAT-2, its legal basis) and the
# permitted research read (its project, approval, rule), not a refused one; a patient outside
# the release sees no statistics use; the use stays visible after retention deleted the
# release's figure sets (it is recorded at release time, not only derived); another citizen
# and a professional get 403 (the refusal logged on the patient); an attorney sees only the
# uses within the power's categories; the call itself is in the patient's log; the
# CapabilityStatement lists the operation. Also the patient's own GP showing a patient who is
# not digital their log (X-Shown-To-Patient, R-BLK-3), logged as such. Prints "N passed, M
# failed".
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq sqlite3 curl
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
db="$work/u.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 4000 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 4000 --seed 5 >/dev/null 2>&1
"$bin" stats cluster --db "$db" --cluster klynge-0 --code T90 --from 2025-11-01 --to 2026-11-01 \
  --report-date 2026-11-01 >/dev/null 2>&1 && ok || bad "a cluster release"
# an included patient who has an attorney (limited to appointments, medication, measurements),
# and a patient who is not included
mapfile -t inc < <(dbq "$db" "select patient from stats_release_patient order by patient")
[ "${#inc[@]}" -gt 5 ] && ok || bad "the release recorded its patients (${#inc[@]})"
who="" holder=""
while read -r line; do
  p=$(grep -o '"patient":"pt-[0-9]*"' <<<"$line" | cut -d'"' -f4)
  if printf '%s\n' "${inc[@]}" | grep -qx "${p#pt-}"; then
    who=$p holder=$(grep -o '"holder":"pt-[0-9]*"' <<<"$line" | cut -d'"' -f4); break
  fi
done < <(grep '"type":"relative"' "$work/d.ndjson" | grep '"capacity":"attorney"')
[ -n "$who" ] && ok || bad "found an included patient with an attorney"
out=""
for n in $(seq 1 200); do printf '%s\n' "${inc[@]}" | grep -qx "$n" || { out="pt-$n"; break; }; done
# research: a permitted read (prj-diabetes, a hospital's measurement) and a refused one (a GP
# clinic's records without its permission)
gp=$(grep -m1 "\"id\":\"$who\"" "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
printf '%s\n' \
  "{\"actor\":{\"professional\":\"forsker-1\"},\"patient\":\"$who\",\"category\":\"measurement\",\"origin\":\"hosp-0-med\",\"purpose\":\"HRESCH\",\"project\":\"prj-diabetes\"}" \
  "{\"actor\":{\"professional\":\"forsker-1\"},\"patient\":\"$who\",\"category\":\"diagnosis\",\"origin\":\"$gp\",\"purpose\":\"HRESCH\",\"project\":\"prj-diabetes\"}" |
  "$bin" decide --db "$db" >"$work/dec.txt" 2>&1
eq "research: one read permitted, one refused" "$(jq -r .decision "$work/dec.txt" | tr '\n' ' ')" "permit deny "

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
tok() { mint "$db" "$@"; }
me=$(tok --kind citizen --patient "$who" 2>/dev/null || true)
if [ -z "$me" ]; then # tokens name a citizen by CPR
  cpr() { grep -m1 "\"id\":\"$1\"" "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4; }
  me=$(tok --kind citizen --cpr "$(cpr "$who")")
  att=$(tok --kind citizen --cpr "$(cpr "$holder")")
  other=$(tok --kind citizen --cpr "$(cpr "$out")")
else
  att=$(tok --kind citizen --patient "$holder")
  other=$(tok --kind citizen --patient "$out")
fi
pro=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
uses() { curl -s -o "$work/b" -w '%{http_code}' -H "Authorization: Bearer $1" "$addr/fhir/Patient/$2/\$uses"; }
flat() { jq -c '[.parameter[]? | [.part[] | {(.name): (.valueString // .valueCode // .valueDateTime // .valueBoolean)}] | add]' "$work/b"; }

code=$(uses "$me" "$who")
eq "the patient: 200" "$code" 200
eq "a Parameters resource" "$(jq -r .resourceType "$work/b")" "Parameters"
u=$(flat)
eq "the release that counted them" "$(jq -r '[.[] | select(.kind == "statistics")][0].recipient' <<<"$u")" "klynge-0"
eq "... under R-STAT-2" "$(jq -r '[.[] | select(.kind == "statistics")][0].rule' <<<"$u")" "R-STAT-2"
has "... with its legal basis" "$(jq -r '[.[] | select(.kind == "statistics")][0].legalBasis' <<<"$u")" "§42d"
eq "... not identifiable" "$(jq -r '[.[] | select(.kind == "statistics")][0].identifiable' <<<"$u")" "false"
eq "the permitted research read, once" "$(jq '[.[] | select(.kind == "research")] | length' <<<"$u")" 1
eq "... its project" "$(jq -r '[.[] | select(.kind == "research")][0].project' <<<"$u")" "prj-diabetes"
eq "... its approval" "$(jq -r '[.[] | select(.kind == "research")][0].approval' <<<"$u")" "VEK H-24012345"
eq "... under R-ACC-6" "$(jq -r '[.[] | select(.kind == "research")][0].rule' <<<"$u")" "R-ACC-6"
hasnt "no CPR number in the answer" "$(cat "$work/b")" "$(cpr "$who" 2>/dev/null || echo none)"

code=$(uses "$other" "$out")
eq "a patient outside the release: 200" "$code" 200
eq "... no statistics use" "$(flat | jq '[.[] | select(.kind == "statistics")] | length')" 0

code=$(uses "$other" "$who")
eq "another citizen: 403" "$code" 403
code=$(uses "$pro" "$who")
eq "the patient's GP: 403" "$code" 403
code=$(uses "$me" "pt-nobody")
eq "an unknown patient: 403 as well" "$code" 403
code=$(uses "$att" "$who")
eq "the attorney: 200" "$code" 200
u=$(flat)
eq "the attorney (no diagnoses in the power): no statistics use" "$(jq '[.[] | select(.kind == "statistics")] | length' <<<"$u")" 0
eq "the attorney: the measurement research read" "$(jq -r '[.[] | select(.kind == "research")][0].category' <<<"$u")" "measurement"

# the calls are in the patient's log: the patient's own and the refused ones
curl -s -H "Authorization: Bearer $me" "$addr/fhir/AuditEvent?_count=100" >"$work/log.json"
n=$(jq '[.entry[].resource | tostring | select(test("[$]uses"))] | length' "$work/log.json" 2>/dev/null)
[ "${n:-0}" -ge 3 ] && ok || bad "the \$uses calls are in the patient's log ($n)"
curl -s "$addr/fhir/metadata" | jq -e '.rest[0].resource[] | select(.type == "Patient") | .operation[] | select(.name == "uses")' >/dev/null &&
  ok || bad "the CapabilityStatement lists \$uses"

# R-BLK-3, seed 000: the patient's own GP shows a patient who is not digital their log,
# sitting with them (X-Shown-To-Patient), logged as such; without it, or for another patient,
# a professional reads no log
audit() { curl -s -H "Authorization: Bearer $pro" "$@" "$addr/fhir/AuditEvent?patient=Patient/$1&_count=5" | jq '.total'; }
eq "the GP without saying it is shown to the patient: nothing" "$(audit "$who")" 0
n=$(audit "$who" -H "X-Shown-To-Patient: Patient/$who")
[ "${n:-0}" -ge 1 ] && ok || bad "the GP showing the patient their log: entries ($n)"
eq "... naming another patient: nothing" "$(audit "$who" -H "X-Shown-To-Patient: Patient/$out")" 0
eq "... by another clinic's doctor: nothing" "$(curl -s -H "Authorization: Bearer $(tok --kind professional --sub hosp-0-med-dr0 --site hosp-0-med)" -H "X-Shown-To-Patient: Patient/$who" "$addr/fhir/AuditEvent?patient=Patient/$who" | jq .total)" 0
curl -s -H "Authorization: Bearer $me" "$addr/fhir/AuditEvent?_count=100" >"$work/log.json"
n=$(jq '[.entry[].resource | tostring | select(test("R-BLK-3") and test("showed the patient"))] | length' "$work/log.json")
[ "${n:-0}" -ge 1 ] && ok || bad "the patient's log says the GP showed them their log ($n)"

# retention deleted the release's figure sets: the use is still told (recorded, not derived)
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=""
dbq "$db" "delete from stats_release_set; update stats_release set expired = 1"
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
code=$(uses "$me" "$who")
eq "after retention: 200" "$code" 200
eq "after retention: the release is still named" "$(flat | jq -r '[.[] | select(.kind == "statistics")][0].recipient')" "klynge-0"
# a release from before inclusion was recorded: derived from its kept figure sets
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=""
"$bin" stats cluster --db "$db" --cluster klynge-0 --code T90 --from 2025-12-01 --to 2026-11-01 \
  --report-date 2026-11-01 >/dev/null 2>&1
last=$(dbq "$db" "select max(id) from stats_release")
dbq "$db" "delete from stats_release_patient where release = $last"
if dbq "$db" "select 1 from stats_release_set where release = $last limit 1" | grep -q 1; then
  serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
  code=$(uses "$me" "$who")
  rel=$(flat | jq -r --arg r "$last" '[.[] | select(.release == $r)][0].source // ""')
  # the patient may or may not be in the second period's figures; when they are, it is derived
  if dbq "$db" "select count(*) from stats_release_set where release = $last" | grep -qv '^0$'; then
    [ -z "$rel" ] || has "an older release: derived from its figure sets" "$rel" "kept figures"
  fi
  ok
else
  ok # the second release was refused (differencing): nothing to derive
fi
hasnt "stderr: no CPR" "$(cat "$work/err.txt")" "$(cpr "$who" 2>/dev/null || echo none)"
the_end
