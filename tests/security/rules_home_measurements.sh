#!/usr/bin/env bash
# Attack (T-RULE-8; R-PRD-1, R-BLK-1, R-ACC-2): a GP the patient blocked still reads the
# patient's own home measurements, because patient-reported data was stored with the GP
# clinic as origin and a clinic always reads its own records. Patient-reported data has the
# patient as its source: blocks apply to it. Fails on a78fde3.
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"patient"' "$nd" | jq -r 'select(.gp != null) | .id' | head -1)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
bp='{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":151,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"effectiveDateTime":"2026-11-20T08:00:00Z"}'
req "$cit" POST /fhir/Observation "$bp"
eq "the patient reports a home measurement" "$code" 201
oid=$(jq -r .id <<<"$body")
req "$cit" POST /fhir/Consent '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/'"$pid"'"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Practitioner/'"$gp-dr1"'"}}]}}'
eq "the patient blocks GP dr1" "$code" 201
req "$(tok --kind professional --sub "$gp-dr1" --site "$gp")" GET "/fhir/Observation?patient=Patient/$pid" "" \
  -H "X-Purpose-Of-Use: TREAT"
hasnt "the blocked GP does not see the home measurement" "$body" "$oid"
req "$(tok --kind professional --sub "$gp-dr0" --site "$gp")" GET "/fhir/Observation?patient=Patient/$pid" "" \
  -H "X-Purpose-Of-Use: TREAT"
has "the patient's other GP does" "$body" "$oid"
the_end
