#!/usr/bin/env bash
# Attack (T-RULE-4; R-SRC-5, R-APT-1, R-ACC-2, R-LOG-2): system tokens without a
# registration. Any client_id was accepted; the token's site counted as the caller's own
# organisation (a region covers every hospital in it); the purpose was ignored; the log
# showed only Organization/<site>. A system caller must be a registered source, bound to the
# site of its registration, limited to the operations it allows, reading for treatment only,
# and named in the patient's log. Fails on a78fde3.
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"item"' "$nd" | grep '"category":"measurement"' | grep '"source":"clinical"' \
  | head -1 | jq -r .patient)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp); n=${gp#gp-}
echo "{\"type\":\"source\",\"client_id\":\"gp-booking-$n\",\"site\":\"$gp\",\"go_live\":\"2020-01-01\",\"operations\":[\"appointments\"]}" \
  >"$work/src.ndjson"
"$bin" load --db "$db" "$work/src.ndjson" >/dev/null 2>&1 && ok || bad "register a booking-only source"
rules_serve
obs() { req "$1" GET "/fhir/Observation?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: ${2:-TREAT}"; }
total() { jq -r '.total // 0' <<<"$body"; }
obs "$(tok --kind system --client-id "gpsys-$n" --site "$gp")"
[ "$code" = 200 ] && [ "$(total)" -gt 0 ] && ok || bad "the clinic's own source reads its data back ($code)"
obs "$(tok --kind system --client-id rogue-$RANDOM --site "$gp")"
eq "an unregistered client is refused" "$code" 401
obs "$(tok --kind system --client-id "gpsys-$n" --site rh)"
eq "a registered client with another site (a region) is refused" "$code" 403
obs "$(tok --kind system --client-id epj-hosp-0 --site rh)"
eq "a hospital's source cannot speak for its region" "$code" 403
obs "$(tok --kind system --client-id "gp-booking-$n" --site "$gp")"
eq "a source registered for appointments only cannot read" "$code" 403
obs "$(tok --kind system --client-id "gpsys-$n" --site "$gp")" PREVENTION
eq "a source reads for treatment, not under another purpose" "$(total)" 0
req "$(tok --kind citizen --cpr "$cpr")" GET "/fhir/AuditEvent?_count=50"
has "the patient's log names the source system" "$body" "\"gpsys-$n\""
the_end
