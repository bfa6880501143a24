#!/usr/bin/env bash
# End-to-end: treatment relationships from the events sources report (issue 21, R-ACC-1,
# R-ACC-12, R-LOG-1) over the wire: a hand-made world loaded with `overblik load`, a real
# `overblik serve` on 127.0.0.1:0, curl + jq. Every scenario counts what a professional's
# FHIR searches match (Condition, MedicationStatement, DocumentReference of the patient)
# before the start event, after it, and after the end event:
# 1. a referral (ServiceRequest) from the GP's source to a hospital department; completed;
# 2. an admission (Encounter IMP) by the hospital's source; the discharge (finished);
# 3. an out-of-hours contact (Encounter EMER) by the out-of-hours service's source; its end;
# 4. a municipal visitation (EpisodeOfCare home_nursing): the nurse reads the diagnosis and
#    the medication but not the clinical note (necessity, R-ACC-1); nothing after the end;
# 5. a substitute GP (R-ACC-12): the cover alone opens nothing; a covered patient's contact
#    (Encounter AMB at the substitute clinic) opens that patient only, until the cover ends;
# 6. each start and end is in the patient's own AuditEvent log (citizen token), by the
#    source that reported it;
# 7. attacks: the hospital's source reports an admission at a GP clinic (400, nothing opened),
#    a professional POSTs an Encounter (403), a referral to an administration (403); none of
#    them adds a relationship to the log.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq curl sqlite3
work=$(mktemp -d)
# the binary under test, pinned: tokens are minted throughout, and the build directory's
# binary may be rebuilt meanwhile
cp "$bin" "$work/overblik" && bin=$work/overblik
srv=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

# --- the world. The events happen now: their period starts two hours ago, so the cover
# (yesterday to next week) is computed from today.
YESTERDAY=$(date -u -d yesterday +%F); NEXT_WEEK=$(date -u -d '+7 days' +%F)
START=$(date -u -d '-2 hours' +%FT%TZ)
P_DIG=0101901234; Q_DIG=1505752468
cat >"$work/world.ndjson" <<EOF
{"type":"org","id":"reg","kind":"region","name":"Region Syddanmark"}
{"type":"org","id":"gp-a","kind":"gp_clinic","name":"Laegerne Torvet","provider_number":"100007"}
{"type":"org","id":"gp-b","kind":"gp_clinic","name":"Laegerne Havnen","provider_number":"100015"}
{"type":"org","id":"hosp","kind":"hospital","parent":"reg","name":"Odense Universitetshospital"}
{"type":"org","id":"hosp-med","kind":"department","parent":"hosp","name":"Medicinsk afdeling"}
{"type":"org","id":"vagt","kind":"department","parent":"reg","name":"Laegevagten"}
{"type":"org","id":"muni","kind":"municipality","name":"Odense Kommune"}
{"type":"org","id":"muni-hh","kind":"municipal_unit","sector":"municipal","parent":"muni","name":"Hjemmeplejen"}
{"type":"org","id":"muni-adm","kind":"admin","parent":"muni","name":"Planlaegning"}
{"type":"professional","id":"gp-a-dr","name":"Anne Holm","role":"doctor","authorisation_id":"0A1B2","sites":["gp-a"]}
{"type":"professional","id":"gp-b-dr","name":"Bo Havn","role":"doctor","authorisation_id":"0B2C3","sites":["gp-b"]}
{"type":"professional","id":"med-dr","name":"Hans Berg","role":"doctor","authorisation_id":"0C3D4","sites":["hosp-med"]}
{"type":"professional","id":"vagt-dr","name":"Vera Vagt","role":"doctor","authorisation_id":"0D4E5","sites":["vagt"]}
{"type":"professional","id":"hh-nurse","name":"Eva Fisker","role":"nurse","authorisation_id":"0E5F6","sites":["muni-hh"]}
{"type":"patient","id":"pt-p","name":"Camilla Christensen","cpr":"010190-1234","gp":"gp-a"}
{"type":"patient","id":"pt-q","name":"Rasmus Jensen","cpr":"150575-2468","gp":"gp-a"}
{"type":"relationship","patient":"pt-p","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-q","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"source","client_id":"gpsys","site":"gp-a","go_live":"2020-01-01","name":"XMO"}
{"type":"source","client_id":"gpbsys","site":"gp-b","go_live":"2020-01-01","name":"WinPLC"}
{"type":"source","client_id":"epj-hosp","site":"hosp","go_live":"2020-01-01","name":"Hospital EPJ"}
{"type":"source","client_id":"vagt-sys","site":"vagt","go_live":"2020-01-01","name":"Vagtsystem"}
{"type":"source","client_id":"muni-sys","site":"muni-hh","go_live":"2020-01-01","name":"Omsorgsjournal"}
{"type":"cover","substitute":"gp-b","covered":"gp-a","from":"$YESTERDAY","to":"$NEXT_WEEK"}
{"type":"item","id":"p-d1","patient":"pt-p","category":"diagnosis","origin":"gp-a","time":"2024-05-02T10:00:00Z","code":"T90"}
{"type":"item","id":"p-m1","patient":"pt-p","category":"medication","origin":"gp-a","time":"2024-05-02T10:05:00Z","code":"A10BA02","display":"Metformin","dose":"500 mg x 2"}
{"type":"item","id":"p-n1","patient":"pt-p","category":"clinical_note","origin":"gp-a","time":"2024-05-02T10:10:00Z","title":"Konsultation","text":"Samtale om kost og motion"}
{"type":"item","id":"q-d1","patient":"pt-q","category":"diagnosis","origin":"gp-a","time":"2024-06-02T10:00:00Z","code":"K86"}
{"type":"item","id":"q-m1","patient":"pt-q","category":"medication","origin":"gp-a","time":"2024-06-02T10:05:00Z","code":"C09AA05","display":"Ramipril","dose":"5 mg x 1"}
{"type":"item","id":"q-n1","patient":"pt-q","category":"clinical_note","origin":"gp-a","time":"2024-06-02T10:10:00Z","title":"Konsultation","text":"Blodtryk kontrolleret"}
EOF
db="$work/w.db"
"$bin" init --db "$db" >/dev/null && ok || { bad "init"; the_end; exit 1; }
out=$("$bin" load --db "$db" "$work/world.ndjson" 2>&1) && ok || { bad "load: $out"; the_end; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] && ok || { bad "server did not print its address"; cat "$work/err.txt"; exit 1; }

tok() { mint "$db" "$@"; }
GPSYS=$(tok --kind system --client-id gpsys --site gp-a)
GPBSYS=$(tok --kind system --client-id gpbsys --site gp-b)
HOSPSYS=$(tok --kind system --client-id epj-hosp --site hosp)
VAGTSYS=$(tok --kind system --client-id vagt-sys --site vagt)
MUNISYS=$(tok --kind system --client-id muni-sys --site muni-hh)
GP_A=$(tok --kind professional --sub gp-a-dr --site gp-a)
GP_B=$(tok --kind professional --sub gp-b-dr --site gp-b)
MED=$(tok --kind professional --sub med-dr --site hosp-med)
VAGT=$(tok --kind professional --sub vagt-dr --site vagt)
NURSE=$(tok --kind professional --sub hh-nurse --site muni-hh)
CIT_P=$(tok --kind citizen --patient pt-p)
CIT_Q=$(tok --kind citizen --patient pt-q)

# req METHOD PATH TOKEN [curl args...] -> $code, $body (a write gets a fresh twin of the token)
req() {
  local m=$1 p=$2 t=$3 send=$3; shift 3
  is_write "$m" "$p" && send=$(fresh "$t")
  code=$(curl -s -o "$work/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $send" "$@" "$addr$p")
  body=$(cat "$work/body")
}
J=(-H "Content-Type: application/fhir+json")
post() { req POST "/fhir/$1" "$2" "${J[@]}" --data-binary "$3"; }          # post TYPE TOKEN BODY
put() { req PUT "/fhir/$1?identifier=$2" "$3" "${J[@]}" --data-binary "$4"; } # put TYPE KEY TOKEN BODY

# the event bodies; the patient by CPR identifier
cpr() { printf '{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}}' "$1"; }
# encounter SYSTEM VALUE STATUS CLASS ORG CPR [END]
encounter() {
  printf '{"resourceType":"Encounter","identifier":[{"system":"%s","value":"%s"}],"status":"%s","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"%s"},"subject":%s,"serviceProvider":{"reference":"Organization/%s"},"period":{"start":"%s"%s}}' \
    "$1" "$2" "$3" "$4" "$(cpr "$6")" "$5" "$START" "${7:+,\"end\":\"$7\"}"
}
# referral VALUE STATUS FROM TO CPR
referral() {
  printf '{"resourceType":"ServiceRequest","identifier":[{"system":"urn:gpsys:henvisning","value":"%s"}],"status":"%s","intent":"order","subject":%s,"requester":{"reference":"Organization/%s"},"performer":[{"reference":"Organization/%s"}],"authoredOn":"%s"}' \
    "$1" "$2" "$(cpr "$5")" "$3" "$4" "$START"
}
# episode VALUE STATUS KIND ORG CPR [END]
episode() {
  printf '{"resourceType":"EpisodeOfCare","identifier":[{"system":"urn:muni:forloeb","value":"%s"}],"status":"%s","type":[{"coding":[{"system":"https://overblik.dk/fhir/CodeSystem/relationship-kind","code":"%s"}]}],"patient":%s,"managingOrganization":{"reference":"Organization/%s"},"period":{"start":"%s"%s}}' \
    "$1" "$2" "$3" "$(cpr "$5")" "$4" "$START" "${6:+,\"end\":\"$6\"}"
}
now_minus() { date -u -d "-$1 seconds" +%FT%TZ; } # an end reported as just past

# sees TOKEN PATIENT -> "diagnoses/medication/notes" the professional's searches match
# (the total and the matches must agree, else the pair is printed)
sees() {
  local r res=""
  for r in Condition MedicationStatement DocumentReference; do
    req GET "/fhir/$r?patient=Patient/$2" "$1"
    local n t
    n=$(jq '[.entry[]? | select(.search.mode=="match")] | length' <<<"$body" 2>/dev/null)
    t=$(jq -r '.total' <<<"$body" 2>/dev/null)
    [ "$code" = 200 ] || n="HTTP$code"
    [ "$n" = "$t" ] || n="$n(total $t)"
    res="$res${res:+/}$n"
  done
  printf '%s\n' "$res"
}
ALL=1/1/1 NONE=0/0/0

# rellog PATIENT_TOKEN PATIENT -> the patient's relationship changes and refused relationship
# writes in their own log, oldest first, one line each: "action|what|agent|outcome" (what:
# relationship/<n> for a start, relationship_end/<n> for an end, empty for a refusal; agent:
# the source's client id, or import; outcome 0 done, 4 refused)
rellog() {
  curl -s -H "Authorization: Bearer $1" "$addr/fhir/AuditEvent?patient=Patient/$2&_count=500" |
    jq -r '[.entry[]?.resource | select(.type.code == "rest")
            | select(any(.entity[0].detail[]?; .type == "event" and .valueString == "relationship")
                     or (any(.entity[0].detail[]?; .type == "event" and .valueString == "data_change")
                         and any(.entity[0].detail[]?; .type == "category" and .valueString == "relationship")))
            | [.action, (.entity[1].what.identifier.value // "" | sub("/[0-9]+$"; "")),
               (.agent[0].who.identifier.value // .agent[0].who.reference // ""), .outcome] | join("|")]
           | reverse | .[]'
}
# newlog LABEL PATIENT_TOKEN PATIENT EXPECTED...: the entries added since the last call for
# that patient are exactly EXPECTED (each "what|agent|outcome")
declare -A seen_log=([pt-p]=0 [pt-q]=0)
newlog() {
  local label=$1 t=$2 p=$3; shift 3
  local all got
  all=$(rellog "$t" "$p")
  got=$(tail -n +"$((seen_log[$p] + 1))" <<<"$all" | cut -d'|' -f2- | paste -sd' ' -)
  seen_log[$p]=$(grep -c . <<<"$all")
  eq "$label" "$got" "$*"
}
newlog "P's log: the imported listing only" "$CIT_P" pt-p "|import|0"
newlog "Q's log: the imported listing only" "$CIT_Q" pt-q "|import|0"

# --- baseline: the own GP sees everything, nobody else anything
eq "baseline: P's own GP sees P's diagnosis/medication/note" "$(sees "$GP_A" pt-p)" "$ALL"
eq "baseline: the hospital department sees nothing of P" "$(sees "$MED" pt-p)" "$NONE"
eq "baseline: the out-of-hours doctor sees nothing of P" "$(sees "$VAGT" pt-p)" "$NONE"
eq "baseline: the home nurse sees nothing of P" "$(sees "$NURSE" pt-p)" "$NONE"

# --- 1. a referral from the GP (its source) to the medical department
post ServiceRequest "$GPSYS" "$(referral R1 active gp-a hosp-med "$P_DIG")"
eq "1 referral: 201" "$code" 201
has "1 referral: echoed with an id" "$(jq -r .id <<<"$body")" "ev-"
newlog "1 referral: P's log shows the start, by the GP's source" "$CIT_P" pt-p "relationship|gpsys|0"
eq "1 referral: the department's doctor sees P's data" "$(sees "$MED" pt-p)" "$ALL"
eq "1 referral: ... and only P's" "$(sees "$MED" pt-q)" "$NONE"
eq "1 referral: the out-of-hours doctor still nothing" "$(sees "$VAGT" pt-p)" "$NONE"
put ServiceRequest "urn:gpsys:henvisning|R1" "$GPSYS" "$(referral R1 completed gp-a hosp-med "$P_DIG")"
eq "1 referral completed: 200" "$code" 200
newlog "1 referral completed: P's log shows the end, by the GP's source" "$CIT_P" pt-p "relationship_end|gpsys|0"
eq "1 referral completed: the department's doctor sees nothing" "$(sees "$MED" pt-p)" "$NONE"
put ServiceRequest "urn:gpsys:henvisning|R1" "$GPSYS" "$(referral R1 completed gp-a hosp-med "$P_DIG")"
eq "1 the completion again: 200" "$code" 200
newlog "1 the completion again: no new log entry" "$CIT_P" pt-p ""
eq "1 the completion again: still nothing" "$(sees "$MED" pt-p)" "$NONE"

# --- 2. an admission at the medical department (the hospital's source) and its discharge
post Encounter "$HOSPSYS" "$(encounter urn:epj:kontakt A1 in-progress IMP hosp-med "$P_DIG")"
eq "2 admission: 201" "$code" 201
newlog "2 admission: P's log shows the start, by the hospital's source" "$CIT_P" pt-p "relationship|epj-hosp|0"
eq "2 admission: the department's doctor sees P's data" "$(sees "$MED" pt-p)" "$ALL"
eq "2 admission: not Q's" "$(sees "$MED" pt-q)" "$NONE"
post Encounter "$HOSPSYS" "$(encounter urn:epj:kontakt A1 in-progress IMP hosp-med "$P_DIG")"
eq "2 the same admission POSTed again: 409" "$code" 409
put Encounter "urn:epj:kontakt|A1" "$HOSPSYS" "$(encounter urn:epj:kontakt A1 finished IMP hosp-med "$P_DIG" "$(now_minus 30)")"
eq "2 discharge (finished, period.end): 200" "$code" 200
newlog "2 discharge: P's log shows the end, by the hospital's source" "$CIT_P" pt-p "relationship_end|epj-hosp|0"
eq "2 discharge: the department's doctor sees nothing" "$(sees "$MED" pt-p)" "$NONE"

# --- 3. an out-of-hours contact (1813) and its end
post Encounter "$VAGTSYS" "$(encounter urn:vagt:kontakt V1 in-progress EMER vagt "$P_DIG")"
eq "3 out-of-hours contact: 201" "$code" 201
newlog "3 out-of-hours contact: P's log shows the start" "$CIT_P" pt-p "relationship|vagt-sys|0"
eq "3 out-of-hours contact: the out-of-hours doctor sees P's data (seed: 1813 needs the GP's plan)" "$(sees "$VAGT" pt-p)" "$ALL"
eq "3 out-of-hours contact: not Q's" "$(sees "$VAGT" pt-q)" "$NONE"
eq "3 out-of-hours contact: opens nothing at the hospital" "$(sees "$MED" pt-p)" "$NONE"
put Encounter "urn:vagt:kontakt|V1" "$VAGTSYS" "$(encounter urn:vagt:kontakt V1 finished EMER vagt "$P_DIG" "$(now_minus 30)")"
eq "3 out-of-hours contact ended: 200" "$code" 200
newlog "3 out-of-hours contact ended: P's log shows the end" "$CIT_P" pt-p "relationship_end|vagt-sys|0"
eq "3 out-of-hours contact ended: the doctor sees nothing" "$(sees "$VAGT" pt-p)" "$NONE"

# --- 4. a municipal visitation: home nursing reads medication and diagnoses, not notes
post EpisodeOfCare "$MUNISYS" "$(episode E1 active home_nursing muni-hh "$P_DIG")"
eq "4 visitation (EpisodeOfCare home_nursing): 201" "$code" 201
newlog "4 visitation: P's log shows the start, by the municipality's source" "$CIT_P" pt-p "relationship|muni-sys|0"
eq "4 visitation: the nurse sees the diagnosis and medication, not the clinical note (R-ACC-1)" "$(sees "$NURSE" pt-p)" 1/1/0
req GET /fhir/MedicationStatement/p-m1 "$NURSE"
eq "4 visitation: the nurse reads the medication by id: 200" "$code" 200
req GET /fhir/DocumentReference/p-n1 "$NURSE"
eq "4 visitation: the nurse reads the clinical note by id: 404" "$code" 404
eq "4 visitation: not Q's" "$(sees "$NURSE" pt-q)" "$NONE"
put EpisodeOfCare "urn:muni:forloeb|E1" "$MUNISYS" "$(episode E1 finished home_nursing muni-hh "$P_DIG" "$(now_minus 30)")"
eq "4 the course ends (finished, period.end): 200" "$code" 200
newlog "4 the course ends: P's log shows the end" "$CIT_P" pt-p "relationship_end|muni-sys|0"
eq "4 the course ends: the nurse sees nothing" "$(sees "$NURSE" pt-p)" "$NONE"
req GET /fhir/MedicationStatement/p-m1 "$NURSE"
eq "4 the course ends: the medication by id: 404" "$code" 404

# --- 5. the substitute GP (R-ACC-12): gp-b covers gp-a from yesterday to next week
eq "5 during the cover, before any contact: the substitute sees nothing of P" "$(sees "$GP_B" pt-p)" "$NONE"
eq "5 ... nor of Q" "$(sees "$GP_B" pt-q)" "$NONE"
post Encounter "$GPBSYS" "$(encounter urn:gpb:konsultation K1 in-progress AMB gp-b "$P_DIG")"
eq "5 P's contact at the substitute clinic (Encounter AMB): 201" "$code" 201
newlog "5 P's contact: P's log shows the start, by the substitute's source" "$CIT_P" pt-p "relationship|gpbsys|0"
eq "5 after P's contact: the substitute's doctor sees P" "$(sees "$GP_B" pt-p)" "$ALL"
eq "5 after P's contact: Q, who made no contact, still not" "$(sees "$GP_B" pt-q)" "$NONE"
newlog "5 Q's log: no relationship change" "$CIT_Q" pt-q ""
# the contact was reported without an end: it ends with the cover (the cover's last day, whole)
to=$(dbq "$db" "select json_extract(json,'\$.to') from records where type='relationship'
  and json_extract(json,'\$.patient')='pt-p' and json_extract(json,'\$.org')='gp-b'" \
  "select json::jsonb->>'to' from store_records where type='relationship'
  and json::jsonb->>'patient'='pt-p' and json::jsonb->>'org'='gp-b' order by seq desc limit 1")
case "$to" in
  "$NEXT_WEEK"T23:59:59*) ok ;;
  *) bad "5 the substitute's relationship ends with the cover (got to='$to', wanted ${NEXT_WEEK}T23:59:59Z)" ;;
esac
eq "5 P's own GP is unaffected" "$(sees "$GP_A" pt-p)" "$ALL"

# --- 7. attacks: nothing opened, nothing logged as a change
post Encounter "$HOSPSYS" "$(encounter urn:epj:kontakt X1 in-progress AMB gp-b "$Q_DIG")"
eq "7 the hospital's source reports an admission at a GP clinic: 400" "$code" 400
eq "7 ... an OperationOutcome" "$(jq -r .resourceType <<<"$body")" OperationOutcome
eq "7 ... opens nothing: the GP clinic's doctor still sees nothing of Q" "$(sees "$GP_B" pt-q)" "$NONE"
post Encounter "$HOSPSYS" "$(encounter urn:epj:kontakt X2 in-progress IMP gp-a "$Q_DIG")"
eq "7 the hospital's source reports an admission at Q's own GP clinic: 400" "$code" 400
post Encounter "$MED" "$(encounter urn:epj:kontakt X3 in-progress IMP hosp-med "$Q_DIG")"
eq "7 a professional's token POSTs an Encounter: 403" "$code" 403
eq "7 ... opens nothing: the department sees nothing of Q" "$(sees "$MED" pt-q)" "$NONE"
post ServiceRequest "$GPSYS" "$(referral X4 active gp-a muni-adm "$Q_DIG")"
eq "7 a referral to an administration (not a care provider): 403" "$code" 403
eq "7 ... an OperationOutcome" "$(jq -r .resourceType <<<"$body")" OperationOutcome
post EpisodeOfCare "$MUNISYS" "$(episode X5 active home_nursing muni-hh "$Q_DIG")"
eq "7 then a legitimate visitation for Q: 201" "$code" 201
eq "7 ... the nurse then sees Q's diagnosis and medication, not the note" "$(sees "$NURSE" pt-q)" 1/1/0
# Q's log (R-LOG-1): each source's refused attempt is there as a refusal, the one change that
# went through as a change
all=$(rellog "$CIT_Q" pt-q)
eq "7 Q's log: one change since the import, the municipality's start" \
  "$(grep '|0$' <<<"$all" | cut -d'|' -f2- | paste -sd' ' -)" "|import|0 relationship|muni-sys|0"
eq "7 Q's log: the sources' refused attempts, as refusals, in order" \
  "$(grep -E '\|(epj-hosp|gpsys)\|4$' <<<"$all" | paste -sd' ' -)" "E||epj-hosp|4 E||epj-hosp|4 E||gpsys|4"

# --- 6. P's own log, the whole story in order: import, then each start and its end
all=$(rellog "$CIT_P" pt-p | cut -d'|' -f2- | paste -sd' ' -)
eq "6 P's log: every start and end in order" "$all" \
  "|import|0 relationship|gpsys|0 relationship_end|gpsys|0 relationship|epj-hosp|0 relationship_end|epj-hosp|0 relationship|vagt-sys|0 relationship_end|vagt-sys|0 relationship|muni-sys|0 relationship_end|muni-sys|0 relationship|gpbsys|0"
req GET "/fhir/AuditEvent?patient=Patient/pt-p" "$GP_B"
eq "6 a professional (even one treating P) reads P's log: empty" "$(jq -r .total <<<"$body")" 0

kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "SIGTERM: exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); eq "log verify" "$?" 0

the_end
