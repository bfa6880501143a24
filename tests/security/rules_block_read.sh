#!/usr/bin/env bash
# Attack (T-RULE-3; R-BLK-4, R-ACC-9, R-BLK-3): a blocked professional reads the patient's
# Consent list and learns that they are blocked, and by whom; colleagues at the patient's
# GP clinic read the patient's site blocks (psychiatry, say). Only the patient, a relative
# with full power of attorney, and the professional who recorded a block or consent for the
# patient (that one only) read them; anyone else gets the answer of a patient who does not
# exist. Fails on a78fde3 (the GP clinic's doctors read every block).
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"patient"' "$nd" | jq -r 'select(.gp != null) | .id' | head -1)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
dr0=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
dr1=$(tok --kind professional --sub "$gp-dr1" --site "$gp")
nurse=$(tok --kind professional --sub "$gp-nurse" --site "$gp")
block() { printf '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/%s"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"%s"}}]}}' "$pid" "$1"; }
req "$cit" POST /fhir/Consent "$(block "Practitioner/$gp-dr1")"
eq "the patient blocks GP dr1" "$code" 201
bid=$(jq -r .id <<<"$body")
req "$cit" POST /fhir/Consent "$(block "Organization/hosp-0-psyk")"
eq "the patient blocks psychiatry" "$code" 201
list() { req "$1" GET "/fhir/Consent?patient=Patient/${2:-$pid}"; }
list "$dr1"; eq "the blocked GP does not see the block naming them" "$(jq -r .total <<<"$body")" 0
hidden=$(noself "$body")
list "$dr1" no-such-patient
eq "... the answer of a patient who does not exist" "$(noself "$body")" "$hidden"
list "$nurse"; eq "a colleague does not see the patient's blocks" "$(jq -r .total <<<"$body")" 0
list "$dr0"; eq "nor does the clinic's other doctor" "$(jq -r .total <<<"$body")" 0
req "$dr1" GET "/fhir/Consent/$bid"
eq "reading the block by id: not found" "$code" 404
# the GP sets a block on the patient's behalf (R-BLK-3): they read that one, and only it
req "$dr0" POST /fhir/Consent "$(block "Organization/hosp-1-psyk")"
eq "the GP sets a block for the patient" "$code" 201
list "$dr0"; eq "the GP reads the block they set, only" "$(jq -r .total <<<"$body")" 1
list "$cit"; eq "the patient reads all three" "$(jq -r .total <<<"$body")" 3
the_end
