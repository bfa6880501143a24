#!/usr/bin/env bash
# Attack (T-RULE-7; R-LOG-1, R-LOG-3, R-BLK-5): refused attempts to change leave no trace.
# A GP tries to lift the patient's own block, a stranger tries to create a block and a
# consent, another citizen posts an Observation about the patient: each answered 403 (or
# 404) and nothing logged. Each refused attempt is now in the log, where the patient sees
# it; the attacker's answer is unchanged and the same for a patient who does not exist.
# Fails on a78fde3 (no entries).
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"patient"' "$nd" | jq -r 'select(.gp != null) | .id' | head -1)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
oid=$(grep '"type":"patient"' "$nd" | jq -r 'select(.gp != null) | .id' | sed -n 2p)
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
ocit=$(tok --kind citizen --cpr "$(field "$oid" cpr)")
dr0=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
stranger=$(tok --kind professional --sub hosp-1-med-dr0 --site hosp-1-med)
block() { printf '{"resourceType":"Consent","status":"%s",%s"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/%s"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hosp-0-psyk"}}]}}' "$1" "$2" "${3:-$pid}"; }
refused() { req "$cit" GET "/fhir/AuditEvent?_count=100"; grep -o 'REFUSED: [^"]*' <<<"$body" | sort | uniq -c | awk '{$1=$1};1'; }
req "$cit" POST /fhir/Consent "$(block active '')"
eq "the patient blocks psychiatry" "$code" 201
bid=$(jq -r .id <<<"$body")
before=$(refused)
# the GP tries to lift it
req "$dr0" PUT "/fhir/Consent/$bid" "$(block inactive "\"id\":\"$bid\",")"
eq "the GP cannot lift the patient's own block" "$code" 404
# a stranger tries to create a block, for the patient and for no one
req "$stranger" POST /fhir/Consent "$(block active '')"
eq "a stranger cannot create a block" "$code" 403
a=$body
req "$stranger" POST /fhir/Consent "$(block active '' no-such-patient)"
eq "... the same answer for a patient who does not exist" "$body" "$a"
# another citizen reports a measurement about the patient
req "$ocit" POST /fhir/Observation '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":190,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"effectiveDateTime":"2026-11-20T08:00:00Z","subject":{"reference":"Patient/'"$pid"'"}}'
eq "another citizen cannot report about the patient" "$code" 403
after=$(refused)
has "the patient sees the attempt on their block" "$after" "tried to lift your block"
has "the patient sees the attempt to create a block" "$after" "tried to create a block for you"
has "the patient sees the measurement reported about them" "$after" "report a measurement about you"
hasnt "none of it was there before" "$before" "REFUSED"
the_end
