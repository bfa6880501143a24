#!/usr/bin/env bash
# Attack (T-RULE-6; R-ACC-6, R-ACC-8, DBL §10 stk. 2): research data and clinical-quality-
# database data read under a consent purpose. The checks that keep them out of treatment
# ran only for treatment purposes; SHARING and PREVENTION let them through. They hold for
# every purpose but the ones the rules name. Fails on a78fde3.
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
pid=$(grep '"type":"patient"' "$nd" | jq -r 'select(.gp != null) | .id' | head -1)
cpr=$(field "$pid" cpr)
cat >"$work/items.ndjson" <<X
{"type":"item","id":"$pid-research-1","patient":"$pid","category":"diagnosis","origin":"forskning","time":"2025-03-01","source":"research","code":"T90"}
{"type":"item","id":"$pid-qdb-1","patient":"$pid","category":"diagnosis","origin":"kvalitetsdb","time":"2025-03-02","source":"quality_db","code":"T90"}
X
"$bin" load --db "$db" "$work/items.ndjson" >/dev/null 2>&1 && ok || bad "load research and quality-database items"
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
consent='{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/'"$pid"'"},"sourceAttachment":{"title":"Socialforvaltningen maa se mine diagnoser."},"provision":{"type":"permit","period":{"start":"2020-01-01","end":"2099-12-31"},"actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hosp-0-med"}}],"purpose":[{"system":"https://overblik.dk/fhir/CodeSystem/consent-purpose","code":"sharing"}],"class":[{"system":"https://overblik.dk/fhir/CodeSystem/data-category","code":"diagnosis"}]}}'
req "$cit" POST /fhir/Consent "$consent"
eq "the patient consents to sharing diagnoses with a hospital department" "$code" 201
req "$(tok --kind professional --sub hosp-0-med-dr0 --site hosp-0-med)" GET \
  "/fhir/Condition?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: SHARING"
eq "the consent is used" "$code" 200
hasnt "research data is not read under SHARING" "$body" "$pid-research-1"
hasnt "quality-database data is not read under SHARING" "$body" "$pid-qdb-1"
the_end
