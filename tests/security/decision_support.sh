#!/usr/bin/env bash
# Attack: use decision support ("patients like me", R-ACC-11, SUL §42a stk. 6) to learn about
# a person (docs/security.md T-PUR-1, T-DSS-1..3). A real `overblik serve` over 2,000
# generated patients. The operation $patients-like-me answers a professional who treats the
# patient with figures about OTHER patients with the diagnosis: it must never carry an id, a
# name, a CPR, a date or an exact small count; a professional who does not treat the
# patient, and a patient who does not exist, get the same refusal; every use is logged on
# the patient under treatment. At 6e667cd the operation did not exist and the purpose
# opened any patient's records instead (tests/security/purpose.sh).
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq sqlite3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 2000 --seed 3 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
gp=gp-0
pro=$(sqlite3 "$db" "select json_extract(r.json,'\$.id') from records r, json_each(json_extract(r.json,'\$.sites')) s
  where r.type='professional' and s.value='$gp' and json_extract(r.json,'\$.role')='doctor' limit 1")
mine=$(sqlite3 "$db" "select json_extract(json,'\$.patient') from records where type='relationship'
  and json_extract(json,'\$.org')='$gp' and json_extract(json,'\$.kind')='listed' limit 1")
other=$(sqlite3 "$db" "select json_extract(json,'\$.patient') from records where type='relationship'
  and json_extract(json,'\$.kind')='listed' and json_extract(json,'\$.patient') not in
  (select json_extract(json,'\$.patient') from records where type='relationship' and json_extract(json,'\$.org')='$gp')
  limit 1")
[ -n "$pro" ] && [ -n "$mine" ] && [ -n "$other" ] && ok || { bad "found a GP, a patient and a stranger"; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server started"; cat "$work/err.txt"; exit 1; }
t_dss=$("$bin" token --db "$db" --ttl 600 --kind professional --sub "$pro" --site "$gp" \
  --purposes TREAT,DECISIONSUPPORT)
before=$(log_max "$db")
dss() { # PATIENT CODE [PURPOSE]
  curl -s -w '\n%{http_code}' -H "Authorization: Bearer $t_dss" -H "X-Purpose-Of-Use: ${3:-DECISIONSUPPORT}" \
    "$addr/fhir/Patient/\$patients-like-me?patient=Patient/$1&code=$2"
}
split() { code=${1##*$'\n'}; body=${1%$'\n'*}; }

# the treating GP gets figures about the other patients with diabetes (T90)
split "$(dss "$mine" T90)"
eq "R-ACC-11: the treating doctor gets an answer" "$code" 200
eq "R-ACC-11: it is a Parameters resource" "$(jq -r .resourceType <<<"$body")" Parameters
eq "R-ACC-11: figures are shown for a common diagnosis" \
  "$(jq -r '.parameter[] | select(.name=="shown") | .valueBoolean' <<<"$body")" true
pop=$(jq -r '.parameter[] | select(.name=="population") | .valueInteger' <<<"$body")
[ "$pop" -ge 5 ] && [ $((pop % 5)) -eq 0 ] && ok || bad "T-DSS-1: the population is rounded to 5 ($pop)"
small=$(jq '[.. | objects | select(.name=="patients") | .valueInteger | select(. < 5 or . % 5 != 0)] | length' <<<"$body")
eq "T-DSS-1: no count under 5 and every count rounded to 5" "$small" 0
hasnt "T-DSS-2: no patient id" "$body" '"pt-'
hasnt "T-DSS-2: no reference" "$body" '"reference"'
hasnt "T-DSS-2: no name" "$body" '"family"'
[ -z "$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{6}-?[0-9]{4}' <<<"$body")" ] && ok ||
  bad "T-DSS-2: no date and no CPR-like number"
# the same question twice gives the same answer (nothing to difference)
split "$(dss "$mine" T90)"
eq "T-DSS-1: the same question gives the same figures" "$(jq -c . <<<"$body")" \
  "$(dss "$mine" T90 | sed '$d' | jq -c .)"
# a rare code shows nothing, not even a small count
split "$(dss "$mine" T90.1)"
n=$(sqlite3 "$db" "select count(distinct patient) from items where category='diagnosis' and code='T90.1'")
if [ "$n" -lt 6 ]; then
  eq "T-DSS-1: a diagnosis fewer than five others have shows nothing" \
    "$(jq -r '.parameter[] | select(.name=="shown") | .valueBoolean' <<<"$body")" false
  hasnt "T-DSS-1: ... and no population" "$body" '"population"'
else ok; ok; fi

# T-DSS-3: a stranger's patient and a patient who does not exist answer alike, and neither
# answers with figures
split "$(dss "$other" T90)"; c1=$code; b1=$body
split "$(dss pt-999999 T90)"; c2=$code; b2=$body
eq "T-DSS-3: a patient the doctor does not treat is refused" "$c1" 403
eq "T-DSS-3: ... exactly as one who does not exist" "$b1" "$b2"
# only with purpose DECISIONSUPPORT, and only if the token allows it (R-ACC-15)
split "$(dss "$mine" T90 TREAT)"
eq "R-ACC-11: the operation needs purpose DECISIONSUPPORT" "$code" 400
t_plain=$("$bin" token --db "$db" --ttl 600 --kind professional --sub "$pro" --site "$gp")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t_plain" -H "X-Purpose-Of-Use: DECISIONSUPPORT" \
  "$addr/fhir/Patient/\$patients-like-me?patient=Patient/$mine&code=T90")
eq "R-ACC-15: a token without DECISIONSUPPORT cannot use it" "$code" 403

# R-LOG-1: every use is logged on the patient under treatment, permits and denies
eq "R-LOG-1: the uses are logged on the patients asked about" \
  "$(log_of "$db" "$before" --actor "$pro" | jq -rs 'map(select(.category == "decision_support"))
     | sort_by(.seq) | map("\(.patient):\(if .decision == "permit" then 1 else 0 end)") | join(" ")')" \
  "$mine:1 $mine:1 $mine:1 $mine:1 $other:0 :0"

the_end
