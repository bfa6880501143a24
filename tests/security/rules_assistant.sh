#!/usr/bin/env bash
# Attack (T-RULE-5; R-ACC-3, R-ACC-4, R-LOG-6): an assistant acts for a professional of
# another site (quality work then reads that clinic's patients), and an authorised
# professional names on_behalf_of, so someone else is logged as responsible and their
# "what assistants did for me" list fills with patients they never treated. Both refused at
# the door. Fails on a78fde3.
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"item"' "$nd" | grep '"category":"measurement"' | grep '"source":"clinical"' \
  | head -1 | jq -r .patient)
gp=$(field "$pid" gp)
other=$(grep '"type":"org"' "$nd" | jq -r 'select(.kind == "gp_clinic") | .id' | grep -vx "$gp" | head -1)
rules_serve
obs() { req "$1" GET "/fhir/Observation?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: $2"; }
# the other clinic's secretary, for this clinic's doctor (who has quality permission here)
obs "$(tok --kind professional --sub "$other-sec" --site "$other" --on-behalf-of "$gp-dr0")" HQUALIMP
eq "an assistant cannot act for another site's professional" "$code" 403
hasnt "... and reads nothing" "$body" '"resourceType":"Observation"'
obs "$(tok --kind professional --sub "$gp-sec" --site "$gp" --on-behalf-of "$gp-dr0")" HQUALIMP
[ "$code" = 200 ] && [ "$(jq -r .total <<<"$body")" -gt 0 ] && ok || bad "the clinic's own secretary works for its doctor ($code)"
# an authorised professional naming someone else
obs "$(tok --kind professional --sub "$gp-dr1" --site "$gp" --on-behalf-of "$gp-nurse")" TREAT
eq "an authorised professional cannot act on behalf of another" "$code" 403
req "$(tok --kind professional --sub "$gp-nurse" --site "$gp")" GET \
  "/fhir/AuditEvent?agent=Practitioner/$gp-nurse&_count=50"
hasnt "the nurse's assistant list holds no one else's reads" "$body" "Patient/$pid"
the_end
