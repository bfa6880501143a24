#!/usr/bin/env bash
# Attack (T-RULE-1; R-CON-1, R-ACC-1, R-BLK-1, R-BLK-4, R-ACC-5): a GP whom the patient
# blocked records an "oral consent" with themself as taker and recipient (or a whole kind
# of site) and reads the patient's data under purpose SHARING. Must be refused: an oral
# consent is recorded only by a professional treating the patient, never for themself or
# their own site, and consent-based reads honour blocks anyway. A legitimate oral consent
# is shown to the patient as recorded on their behalf. Fails on a78fde3 (201, and the
# blocked GP reads the patient's measurements).
# backends: sqlite postgresql
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/rules_lib.bash"
# a patient with clinical measurements from their GP clinic
pid=$(grep '"type":"item"' "$nd" | grep '"category":"measurement"' | grep '"source":"clinical"' \
  | head -1 | jq -r .patient)
cpr=$(field "$pid" cpr); gp=$(field "$pid" gp)
[ -n "$cpr" ] && [ -n "$gp" ] && ok || { bad "no patient with measurements"; the_end; exit 1; }
rules_serve
cit=$(tok --kind citizen --cpr "$cpr")
dr1=$(tok --kind professional --sub "$gp-dr1" --site "$gp")
dr0=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
actor() { printf '"actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":%s}]' "$1"; }
consent() { # consent STATUS-EXTRA PROVISION
  printf '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"%s"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/%s"},%s"provision":{%s}}' "$1" "$pid" "$2" "$3"
}
oral_by() { printf '"sourceAttachment":{"title":"Mundtligt samtykke givet i konsultationen."},"extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/consent-form","valueCode":"oral"},{"url":"https://overblik.dk/fhir/StructureDefinition/consent-taken-by","valueReference":{"reference":"Practitioner/%s"}}],' "$1"; }
classes='"class":[{"system":"https://overblik.dk/fhir/CodeSystem/data-category","code":"measurement"},{"system":"https://overblik.dk/fhir/CodeSystem/data-category","code":"appointment"},{"system":"https://overblik.dk/fhir/CodeSystem/data-category","code":"diagnosis"}]'
period='"period":{"start":"2020-01-01","end":"2099-12-31"}'
sharing='"purpose":[{"system":"https://overblik.dk/fhir/CodeSystem/consent-purpose","code":"sharing"}]'

# the patient blocks GP dr1 (a named doctor at their own clinic)
req "$cit" POST /fhir/Consent "$(consent patient-privacy '' "\"type\":\"deny\",$(actor "{\"reference\":\"Practitioner/$gp-dr1\"}")")"
eq "the patient blocks their GP dr1" "$code" 201
shared() { req "$dr1" GET "/fhir/Observation?patient=Patient/$pid" "" -H "X-Purpose-Of-Use: SHARING"; jq -r '.total // 0' <<<"$body"; }
eq "before: the blocked GP reads nothing under SHARING" "$(shared)" 0

# the attack: an oral consent with taker = recipient = the blocked GP
req "$dr1" POST /fhir/Consent "$(consent treatment "$(oral_by "$gp-dr1")" "\"type\":\"permit\",$period,$(actor "{\"reference\":\"Practitioner/$gp-dr1\"}"),$sharing,$classes")"
[ "$code" != 201 ] && ok || bad "a self-granted oral consent was accepted ($code)"
eq "after: still nothing under SHARING" "$(shared)" 0
# the same for every GP clinic (a whole kind of site)
req "$dr1" POST /fhir/Consent "$(consent treatment "$(oral_by "$gp-dr1")" "\"type\":\"permit\",$period,$(actor '{"type":"Organization","identifier":{"system":"https://overblik.dk/fhir/CodeSystem/organisation-kind","value":"gp_clinic"}}'),$sharing,$classes")"
[ "$code" != 201 ] && ok || bad "an oral consent to the recorder's kind of site was accepted ($code)"
eq "still nothing under SHARING" "$(shared)" 0

# a professional who does not treat the patient gets the answer of a non-existent one
other=$(grep -o '"id":"gp-[0-9]*-dr0"' "$nd" | cut -d'"' -f4 | grep -v "^$gp-" | head -1)
oth=$(tok --kind professional --sub "$other" --site "${other%-dr0}")
req "$oth" POST /fhir/Consent "$(consent treatment "$(oral_by "$other")" "\"type\":\"permit\",$period,$(actor "{\"reference\":\"Organization/mun-0-hjemme\"}"),$sharing,$classes")"
eq "a stranger records an oral consent: refused" "$code" 403
stranger=$body
pid_real=$pid; pid=no-such-patient
req "$oth" POST /fhir/Consent "$(consent treatment "$(oral_by "$other")" "\"type\":\"permit\",$period,$(actor "{\"reference\":\"Organization/mun-0-hjemme\"}"),$sharing,$classes")"
eq "... with the answer of a patient who does not exist" "$body" "$stranger"
pid=$pid_real

# a lawful one: the treating GP dr0 records an oral consent for home nursing
req "$dr0" POST /fhir/Consent "$(consent treatment "$(oral_by "$gp-dr0")" "\"type\":\"permit\",$period,$(actor "{\"reference\":\"Organization/mun-0-hjemme\"}"),$sharing,$classes")"
eq "the treating GP records an oral consent for home nursing" "$code" 201
# the patient sees it flagged, in their Consent list and their log
req "$cit" GET /fhir/Consent
has "the patient's Consent list flags it as recorded on their behalf" "$body" "consent-recorded-on-behalf"
req "$cit" GET "/fhir/AuditEvent?_count=50"
has "the patient's log says it was recorded on their behalf" "$body" "ON YOUR BEHALF"
the_end
