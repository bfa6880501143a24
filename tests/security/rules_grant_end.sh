#!/usr/bin/env bash
# Attack (T-RULE-2; R-ACC-1, R-ACC-3, R-ACC-9, R-CON-2, R-LOG-1): grants that never end.
# A later record with an end date must replace a grant's end, not add a second grant; the
# patient revokes a power of attorney (and the holder can renounce it) over FHIR; site
# management ends an assistant's permission; a relationship ends with its own source's
# event and no other source's. Each takes effect at once and is logged; the patient sees
# the end of their fuldmagt. Fails on a78fde3 (no $end; a re-sent record with an end date
# leaves the holder's access open).
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"item"' "$nd" | grep '"category":"measurement"' | grep '"source":"clinical"' \
  | head -1 | jq -r .patient)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
# two other patients as holders of a power of attorney
h1=$(grep '"type":"patient"' "$nd" | jq -r .id | grep -vx "$pid" | sed -n 1p)
h2=$(grep '"type":"patient"' "$nd" | jq -r .id | grep -vx "$pid" | sed -n 2p)
cat >"$work/extra.ndjson" <<X
{"type":"relative","patient":"$pid","holder":"$h1","capacity":"attorney","scope":"all","from":"2020-01-01"}
{"type":"relative","patient":"$pid","holder":"$h2","capacity":"attorney","scope":"all","from":"2020-01-01"}
X
"$bin" load --db "$db" "$work/extra.ndjson" >/dev/null 2>&1 && ok || bad "load the grants"
# the site's management: the clinic's first doctor holds its `manage` permission
echo "{\"type\":\"permission\",\"professional\":\"$gp-dr0\",\"site\":\"$gp\",\"kind\":\"manage\",\"from\":\"2020-01-01\"}" \
  >"$work/manage.ndjson"
"$bin" load --db "$db" "$work/manage.ndjson" >/dev/null 2>&1 && ok || bad "load the management"
# the registry sends h2's fuldmagt again, now with an end date: it must end, not add a grant
echo "{\"type\":\"relative\",\"patient\":\"$pid\",\"holder\":\"$h2\",\"capacity\":\"attorney\",\"scope\":\"all\",\"from\":\"2020-01-01\",\"to\":\"2021-01-01\"}" \
  >"$work/end.ndjson"
"$bin" load --db "$db" "$work/end.ndjson" >/dev/null 2>&1 && ok || bad "load the end"
rules_serve
cpr1=$("$bin" gen --out - --patients "${RULES_PATIENTS:-120}" --seed 7 2>/dev/null \
  | grep "\"type\":\"patient\",\"id\":\"$h1\"" | jq -r .cpr)
cpr2=$(field "$h2" cpr)
cit=$(tok --kind citizen --cpr "$cpr")
hold1=$(tok --kind citizen --cpr "$cpr1")
hold2=$(tok --kind citizen --cpr "$cpr2")
reads() { req "$1" GET "/fhir/Observation?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: PWATRNY"; jq -r '.total // 0' <<<"$body"; }
[ "$(reads "$hold1")" -gt 0 ] && ok || bad "the holder reads the patient's measurements"
eq "a power of attorney re-sent with an end date has ended (not a second grant)" "$(reads "$hold2")" 0

# the patient revokes h1's power of attorney over FHIR
params() { printf '{"resourceType":"Parameters","parameter":[%s]}' "$1"; }
ref() { printf '{"name":"%s","valueReference":{"reference":"%s"}}' "$1" "$2"; }
code_p() { printf '{"name":"%s","valueCode":"%s"}' "$1" "$2"; }
req "$hold2" POST '/fhir/RelatedPerson/$end' "$(params "$(ref patient "Patient/$pid"),$(ref holder "Patient/$h1")")"
eq "another citizen cannot end someone else's power of attorney" "$code" 404
req "$cit" POST '/fhir/RelatedPerson/$end' "$(params "$(ref holder "Patient/$h1")")"
eq "the patient revokes the power of attorney" "$code" 200
eq "at once: the holder reads nothing" "$(reads "$hold1")" 0
req "$cit" POST '/fhir/RelatedPerson/$end' "$(params "$(ref holder "Patient/$h1")")"
eq "a second revocation finds none current" "$code" 404
req "$cit" GET "/fhir/AuditEvent?_count=100"
has "the patient's log shows the revocation" "$body" "power of attorney revoked by the patient"

# site management ends the secretary's technical-assistance permission
sec=$(tok --kind professional --sub "$gp-sec" --site "$gp" --on-behalf-of "$gp-dr1")
areads() { req "$sec" GET "/fhir/Observation?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: TREAT"; jq -r '.total // 0' <<<"$body"; }
[ "$(areads)" -gt 0 ] && ok || bad "the assistant reads for the GP"
dr1=$(tok --kind professional --sub "$gp-dr1" --site "$gp")
dr0=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
perm="$(ref practitioner "Practitioner/$gp-sec"),$(ref organization "Organization/$gp"),$(code_p code assist)"
req "$dr1" POST '/fhir/PractitionerRole/$end' "$(params "$perm")"
eq "a doctor who is not the site's management cannot end it" "$code" 403
[ "$(areads)" -gt 0 ] && ok || bad "still granted"
req "$dr0" POST '/fhir/PractitionerRole/$end' "$(params "$perm")"
eq "the site's management ends the permission" "$code" 200
eq "at once: the assistant reads nothing" "$(areads)" 0

# a relationship ends only with its own source's event
other=$(grep -o '"client_id":"gpsys-[0-9]*"' "$nd" | cut -d'"' -f4 | grep -vx "gpsys-${gp#gp-}" | head -1)
osys=$(tok --kind system --client-id "$other" --site "gp-${other#gpsys-}")
sys=$(tok --kind system --client-id "gpsys-${gp#gp-}" --site "$gp")
rel="$(ref patient "Patient/$pid"),$(ref organization "Organization/$gp"),$(code_p type listed)"
req "$osys" POST '/fhir/EpisodeOfCare/$end' "$(params "$rel")"
eq "another clinic's source cannot end the listing" "$code" 403
req "$sys" POST '/fhir/EpisodeOfCare/$end' "$(params "$rel")"
eq "the clinic's own source ends the listing" "$code" 200
req "$sys" POST '/fhir/EpisodeOfCare/$end' "$(params "$rel")"
eq "... and it is ended (none current)" "$code" 404
rules_stop
# the ends survive a restart (replay gives the same state), and the CLI names its operator
rules_serve
eq "after a restart the holder still reads nothing" "$(reads "$hold1")" 0
rules_stop
"$bin" grant end-attorney --db "$db" --patient "$pid" --holder "$h1" --operator "Ops Olsen" \
  >/dev/null 2>&1
eq "the CLI finds no current power of attorney to end" "$?" 1
the_end
