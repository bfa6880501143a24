#!/usr/bin/env bash
# End-to-end FHIR flow over the wire (issue 3; R-APT-1..7, R-ACC-1, R-ACC-9, R-BLK-2, R-BLK-4,
# R-LOG-1, R-CPR-2, R-STAT): a hand-made world loaded with `overblik load`, a real
# `overblik serve` on 127.0.0.1:0, curl + jq.
# - a source system creates an appointment (comment dropped, fictive end), updates it with a
#   conditional PUT, cancels another; another source cannot change it, a professional cannot
#   write, a calendar entry without a patient is refused; unshared and pre-go-live
#   appointments are never shown;
# - the patient, their relative with power of attorney and the treating hospital doctor each
#   see exactly the expected set; a doctor without a relationship gets the empty Bundle a
#   non-existent patient gets, byte for byte but the self link (which repeats the search);
# - a named block of the GP doctor (a hospital doctor's is refused, R-BLK-2): total 0, no
#   appointment, only the generic marker; break-the-glass on $overview shows the data and the
#   patient's AuditEvent log shows the override flag and the reason; a consent override on a
#   search; a site block hides hosp-med's appointments from others (not from hosp-med, R-ACC-2);
#   lifting a block takes effect at once (the blocked doctor's attempt: 404, as if absent);
# - after every read the patient's AuditEvent log already has its entry;
# - POST /api/stats/cluster as a coordinator (no released figure in 1..k-1) and as another (403);
# - no CPR in the server's stderr (access log on) nor in any answer to anyone but the patient.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq
work=$(mktemp -d)
srv=""; srv2=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  [ -n "$srv2" ] && kill "$srv2" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

# --- the world: a GP clinic, a hospital with two departments, three doctors, patient P,
# relative R with power of attorney over P, two source systems (go-live 2020-01-01)
P_CPR=010190-1234; P_DIG=0101901234      # R-CPR-1: 1 Jan 1990, 7th digit 1 -> 19xx
R_CPR=150575-2468; R_DIG=1505752468
cat >"$work/world.ndjson" <<'EOF'
{"type":"org","id":"gp-a","kind":"gp_clinic","name":"Laegerne Torvet","provider_number":"100007"}
{"type":"org","id":"gp-b","kind":"gp_clinic","name":"Laegevagten","provider_number":"100015"}
{"type":"org","id":"hosp","kind":"hospital","name":"Odense Universitetshospital"}
{"type":"org","id":"hosp-med","kind":"department","parent":"hosp","name":"Medicinsk afdeling"}
{"type":"org","id":"hosp-psyk","kind":"department","parent":"hosp","name":"Psykiatrisk afdeling"}
{"type":"professional","id":"gp-a-dr","name":"Anne Holm","role":"doctor","authorisation_id":"0A1B2","sites":["gp-a"]}
{"type":"professional","id":"gp-b-dr","name":"Bo Vagt","role":"doctor","authorisation_id":"0B2C3","sites":["gp-b"]}
{"type":"professional","id":"med-dr","name":"Hans Berg","role":"doctor","authorisation_id":"0C3D4","sites":["hosp-med"]}
{"type":"professional","id":"psyk-dr","name":"Ole Dam","role":"doctor","authorisation_id":"0E5F6","sites":["hosp-psyk"]}
{"type":"patient","id":"pt-p","name":"Camilla Christensen","cpr":"010190-1234","gp":"gp-a"}
{"type":"patient","id":"pt-r","name":"Rasmus Christensen","cpr":"150575-2468","gp":"gp-a"}
{"type":"relative","patient":"pt-p","holder":"pt-r","capacity":"attorney","scope":"all","from":"2020-01-01"}
{"type":"relationship","patient":"pt-p","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-r","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-p","org":"hosp-med","professional":"med-dr","kind":"treatment","from":"2026-01-01"}
{"type":"relationship","patient":"pt-p","org":"gp-b","professional":"gp-b-dr","kind":"treatment","from":"2026-01-01"}
{"type":"source","client_id":"epj-hosp","site":"hosp","go_live":"2020-01-01","name":"Hospital EPJ"}
{"type":"source","client_id":"gpsys","site":"gp-a","go_live":"2020-01-01","name":"XMO"}
{"type":"appointment","source":"gpsys","system":"urn:gp:booking","identifier":"G-1","patient":"pt-p","start":"2026-12-10T08:00:00Z","end":"2026-12-10T08:15:00Z"}
{"type":"appointment","source":"gpsys","system":"urn:gp:booking","identifier":"G-OLD","patient":"pt-p","start":"2019-05-01T08:00:00Z","end":"2019-05-01T08:15:00Z"}
{"type":"item","id":"pt-p-d1","patient":"pt-p","category":"diagnosis","origin":"gp-a","time":"2024-05-02T10:00:00Z","code":"T90"}
EOF
db="$work/w.db"
"$bin" init --db "$db" >/dev/null && ok || { bad "init"; the_end; exit 1; }
out=$("$bin" load --db "$db" "$work/world.ndjson" 2>&1) && ok || { bad "load: $out"; the_end; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --access-log --metrics-clients epj-hosp
[ -n "$addr" ] && ok || { bad "server did not print its address"; cat "$work/err.txt"; exit 1; }

tok() { mint "$db" "$@"; }
SYS=$(tok --kind system --client-id epj-hosp --site hosp)
GPSYS=$(tok --kind system --client-id gpsys --site gp-a)
CIT_P=$(tok --kind citizen --cpr "$P_CPR")
CIT_R=$(tok --kind citizen --cpr "$R_CPR")
GP=$(tok --kind professional --sub gp-a-dr --site gp-a)
VAGT=$(tok --kind professional --sub gp-b-dr --site gp-b)
MED=$(tok --kind professional --sub med-dr --site hosp-med)
PSYK=$(tok --kind professional --sub psyk-dr --site hosp-psyk)

# req METHOD PATH TOKEN [curl args...] -> $code, $hdrs, $body; every body is kept in $work/all_<who>
nreq=0
req() {
  local m=$1 p=$2 t=$3 send=$3; shift 3
  nreq=$((nreq+1))
  is_write "$m" "$p" && send=$(fresh "$t") # one write per token
  curl -s -o "$work/body" -D "$work/hdrs" -X "$m" -H "Authorization: Bearer $send" "$@" "$addr$p" >/dev/null 2>&1
  hdrs=$(tr -d '\r' <"$work/hdrs"); body=$(cat "$work/body")
  code=$(grep '^HTTP/' <<<"$hdrs" | tail -1 | awk '{print $2}')
  if [ "$t" = "$CIT_P" ]; then cat "$work/body" >>"$work/to_patient"; else cat "$work/body" >>"$work/to_others"; fi
}
J=(-H "Content-Type: application/fhir+json")
apt() { # apt IDENT START [extra JSON members] -> an Appointment body for P
  printf '{"resourceType":"Appointment","identifier":[{"system":"urn:sp:booking","value":"%s"}],"status":"booked","start":"%s","participant":[{"actor":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"status":"accepted"},{"actor":{"type":"Location","display":"Indgang 20, Odense"},"status":"accepted"}]%s}' \
    "$1" "$2" "$P_DIG" "${3:-}"
}
ids() { jq -r '[.entry[]? | select(.search.mode=="match") | .resource.id] | sort | join(",")' <<<"$body"; }
# lastlog: P's newest AuditEvent, read with P's own token; "actor|ids|override|justification"
# a denial of what a block withheld from a search (R-BLK-4): refused, listing the withheld
# ids; it is appended right after the search's own entry
WITHHELD='(.outcome == "4" and (.entity | length) > 1 and (.outcomeDesc | test("withheld")))'
lastlog() { # the newest entry that is not such a denial
  curl -s -H "Authorization: Bearer $CIT_P" "$addr/fhir/AuditEvent?_count=20" >"$work/log.json"
  jq -r '[.entry[].resource | select('"$WITHHELD"' | not)][0] | [.agent[0].who.reference,
     ([.entity[1:][]? | (.what.identifier.value // .what.reference // "") | split(",")[] | sub("^[A-Za-z]+/"; "")] | sort | join(",")),
     ([.entity[0].detail[]? | select(.type=="override") | .valueString][0] // ""),
     ([.extension[]? | select(.url|endswith("audit-override-justification")) | .valueString][0] // "")]
     | join("|")' "$work/log.json"
}
withheld() { # the ids the newest withheld-denials list (P's own reads of the log skipped)
  curl -s -H "Authorization: Bearer $CIT_P" "$addr/fhir/AuditEvent?_count=20" >"$work/log.json"
  jq -r '[.entry[].resource | select(.agent[0].who.reference != "Patient/pt-p")]
     | (map('"$WITHHELD"') | index(false)) as $k | .[0:$k][]
     | .entity[1:][] | (.what.reference // "") | sub("^[A-Za-z]+/"; "")' "$work/log.json" | sort | paste -sd,
}
logged() { # logged "what" actor-ref [ids]: the read just answered is already P's newest log entry
  local l; l=$(lastlog)
  eq "$1: in P's log before the answer" "$(cut -d'|' -f1 <<<"$l")" "$2"
  [ $# -ge 3 ] && eq "$1: logged ids" "$(cut -d'|' -f2 <<<"$l")" "$3"
}

# --- writes (R-APT-1..5)
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-1 2026-12-02T09:00:00Z \
  ',"comment":"Husk fastende blodproeve","description":"secret note","extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/responsible-clinic","valueReference":{"reference":"Organization/hosp-med"}}]')"
eq "source creates an appointment: 201" "$code" 201
A1=$(jq -r .id <<<"$body")
created_hdrs=$hdrs
has "create: Location header" "$hdrs" "Location: $addr/fhir/Appointment/$A1/_history/1"
hasnt "create: comment dropped" "$body" "fastende"
hasnt "create: description dropped" "$body" "secret note"
eq "create: fictive end = start + 1 h" "$(jq -r .end <<<"$body")" "2026-12-02T10:00:00Z"
eq "create: fictive-end extension" "$(jq -r '.extension[] | select(.url|endswith("fictive-end")) | .valueBoolean' <<<"$body")" true
eq "create: responsible clinic" "$(jq -r '.extension[] | select(.url|endswith("responsible-clinic")) | .valueReference.display' <<<"$body")" "Medicinsk afdeling"
eq "create: patient by internal id" "$(jq -r '.participant[0].actor.reference' <<<"$body")" "Patient/pt-p"
cat "$db" "$db-wal" 2>/dev/null | grep -qaF fastende && bad "the comment reached the database" || ok
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-1 2026-12-02T09:00:00Z)"
eq "same identifier again: 409" "$code" 409
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-1" "$SYS" "${J[@]}" \
  --data-binary "$(apt H-1 2026-12-02T11:00:00Z ',"end":"2026-12-02T11:30:00Z","extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/responsible-clinic","valueReference":{"reference":"Organization/hosp-med"}}]')"
eq "conditional PUT updates: 200" "$code" 200
eq "conditional PUT: same id" "$(jq -r .id <<<"$body")" "$A1"
eq "conditional PUT: new start" "$(jq -r .start <<<"$body")" "2026-12-02T11:00:00Z"
has "conditional PUT: version 2" "$hdrs" 'ETag: W/"2"'
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-1" "$SYS" "${J[@]}" -H 'If-Match: W/"1"' \
  --data-binary "$(apt H-1 2026-12-02T13:00:00Z)"
eq "PUT with a stale If-Match: 412" "$code" 412
req GET "/fhir/Appointment/$A1" "$CIT_P"
eq "the stale PUT changed nothing" "$(jq -r .start <<<"$body")" "2026-12-02T11:00:00Z"
# (for R, so that P's appointments stay as the checks below count them)
req POST /fhir/Appointment "$SYS" "${J[@]}" -H "Prefer: return=minimal" \
  --data-binary "$(apt H-MIN 2026-12-20T09:00:00Z | sed "s/$P_DIG/$R_DIG/")"
eq "Prefer return=minimal: 201" "$code" 201
eq "Prefer return=minimal: no body" "$body" ""
has "Prefer return=minimal: the Location still" "$hdrs" "Location: $addr/fhir/Appointment/apt-"
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-MIN" "$SYS" "${J[@]}" \
  -H "Prefer: return=OperationOutcome" \
  --data-binary "$(apt H-MIN 2026-12-21T09:00:00Z | sed "s/$P_DIG/$R_DIG/")"
eq "Prefer return=OperationOutcome: 200 and an informational outcome" \
   "$code $(jq -c '[.resourceType, .issue[0].severity, .issue[0].diagnostics]' <<<"$body")" \
   '200 ["OperationOutcome","information","updated"]'
has "Prefer return=OperationOutcome: version 2" "$hdrs" 'ETag: W/"2"'
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-1" "$GPSYS" "${J[@]}" \
  --data-binary "$(apt H-1 2026-12-02T11:00:00Z | jq -c '.status="cancelled"')"
# R-APT-1 (issue 19): identifier systems belong to the source that uses them, so another
# source can neither change the hospital's appointment nor make one that looks like it
eq "another source's PUT with the hospital's identifier system: 403" "$code" 403
req GET "/fhir/Appointment/$A1" "$SYS"
eq "... and the hospital's appointment is unchanged" "$(jq -r .status <<<"$body")" booked
# with its own system it makes its own (cancelled) appointment
req PUT "/fhir/Appointment?identifier=urn:gp:booking|H-1" "$GPSYS" "${J[@]}" \
  --data-binary "$(apt H-1 2026-12-02T11:00:00Z | jq -c '.status="cancelled" | .identifier[0].system="urn:gp:booking"')"
[ "$code" = 200 ] || [ "$code" = 201 ] && ok || bad "another source's PUT with its own system: its own appointment ($code $body)"
A_GPDUP=$(jq -r .id <<<"$body")
[ "$A_GPDUP" != "$A1" ] && ok || bad "another source cannot change or cancel the hospital's appointment"
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-2 2026-12-05T09:00:00Z)"
eq "second appointment: 201" "$code" 201
A2=$(jq -r .id <<<"$body")
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-2" "$SYS" "${J[@]}" \
  --data-binary "$(apt H-2 2026-12-05T09:00:00Z | jq -c '.status="cancelled"')"
eq "cancel by status: 200" "$code" 200
eq "cancel: status" "$(jq -r .status <<<"$body")" cancelled
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-3 2026-12-06T09:00:00Z \
  ',"extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/shared","valueBoolean":false}]')"
eq "unshared appointment stored: 201" "$code" 201
A3=$(jq -r .id <<<"$body")
req POST /fhir/Appointment "$MED" "${J[@]}" --data-binary "$(apt X-1 2026-12-07T09:00:00Z)"
eq "a professional cannot write: 403" "$code" 403
req POST /fhir/Appointment "$CIT_P" "${J[@]}" --data-binary "$(apt X-2 2026-12-07T09:00:00Z)"
eq "a citizen cannot write: 403" "$code" 403
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary \
  '{"resourceType":"Appointment","identifier":[{"system":"urn:sp:booking","value":"M-1"}],"status":"booked","start":"2026-12-08T09:00:00Z","participant":[{"actor":{"type":"Location","display":"Moedelokale 3"},"status":"accepted"}]}'
eq "calendar entry without a patient: 400" "$code" 400
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-9 2026-12-08T09:00:00Z | sed "s/$P_DIG/3213901234/")"
eq "invalid CPR: 400" "$code" 400
hasnt "invalid CPR: not echoed" "$body" "3213901234"
A_G1=$(sqlite3 "$db" "select 'apt-'||id from appointments where ident_value='G-1'")
A_GOLD=$(sqlite3 "$db" "select 'apt-'||id from appointments where ident_value='G-OLD'")
[ -n "$A_G1" ] && [ -n "$A_GOLD" ] && ok || bad "the imported appointments are in the store"
req POST /fhir/Appointment "$GPSYS" "${J[@]}" --data-binary "$(apt G-OLD2 2019-06-01T09:00:00Z | jq -c '.identifier[0].system="urn:gp:booking"')"
if [ "$code" = 201 ]; then A_GOLD2=$(jq -r .id <<<"$body"); echo "note: an appointment before go-live is accepted (never shown)" >&2; ok
else A_GOLD2=none; eq "an appointment before go-live: refused with 400 or 422" "$([ "$code" = 400 ] || [ "$code" = 422 ] && echo y)" y; fi

# --- reads: who sees what (R-APT-6, R-ACC-9, R-ACC-1). Shown: the hospital's (updated) and
# cancelled appointments, the GP's imported one and the GP source's own cancelled one; never
# the unshared one nor those held before go-live.
sorted() { tr ' ' '\n' <<<"$*" | sort | paste -sd, -; }
ALL=$(sorted "$A1" "$A2" "$A_GPDUP" "$A_G1")
for hidden in "$A3" "$A_GOLD" "$A_GOLD2"; do
  grep -qx "$hidden" <<<"${ALL//,/$'\n'}" && bad "hidden appointment $hidden in the expected set" || ok
done
see() { # see "who" token actor-ref [curl args]
  local who=$1 t=$2 actor=$3; shift 3
  req GET "/fhir/Appointment?patient=Patient/pt-p" "$t" "$@"
  eq "$who: 200" "$code" 200
  eq "$who: sees exactly the shareable appointments" "$(ids)" "$ALL"
  eq "$who: total" "$(jq -r .total <<<"$body")" 4
  logged "$who" "$actor" "$ALL"
}
see "patient P" "$CIT_P" "Patient/pt-p"
eq "P: cancelled shown as cancelled" "$(jq -r --arg id "$A2" '.entry[] | select(.resource.id==$id) | .resource.status' <<<"$body")" cancelled
eq "P: updated start" "$(jq -r --arg id "$A1" '.entry[] | select(.resource.id==$id) | .resource.start' <<<"$body")" "2026-12-02T11:00:00Z"
req GET "/fhir/Appointment" "$CIT_P"
eq "P without naming a patient: own appointments" "$(ids)" "$ALL"
logged "P (own, no patient parameter)" "Patient/pt-p" "$ALL"
see "relative R (PWATRNY)" "$CIT_R" "Patient/pt-r" -H "X-Purpose-Of-Use: PWATRNY"
eq "relative R: logged with purpose PWATRNY" "$(jq -r '.entry[0].resource.purposeOfEvent[0].coding[0].code' "$work/log.json")" PWATRNY
eq "relative R: logged in the capacity attorney" "$(jq -r '.entry[0].resource.entity[0].detail[] | select(.type=="capacity") | .valueString' "$work/log.json")" attorney
see "treating hospital doctor (TREAT)" "$MED" "Practitioner/med-dr" -H "X-Purpose-Of-Use: TREAT"
see "P's GP (listed)" "$GP" "Practitioner/gp-a-dr"
see "out-of-hours GP (treatment)" "$VAGT" "Practitioner/gp-b-dr"
req GET "/fhir/Appointment/$A1" "$MED"
eq "read by id: 200" "$code" 200
logged "read by id" "Practitioner/med-dr" "$A1"
ver=$(grep -i '^ETag:' <<<"$hdrs" | sed 's/^[^:]*: W\/"//; s/"$//')
[ "$ver" -gt 1 ] && ok || bad "A1 was updated since its create (ETag $ver)"
req GET "/fhir/Appointment/$A1/_history/$ver" "$MED"
eq "version read of the current version: 200" "$code" 200
eq "version read: the same appointment" "$(jq -r .id <<<"$body")" "$A1"
loc=$(grep -i '^Location:' <<<"$created_hdrs" | sed 's/^[^:]*: //; s|^'"$addr"'||')
eq "the create's Location names version 1" "$loc" "/fhir/Appointment/$A1/_history/1"
req GET "$loc" "$MED"; r1=$body
eq "an older version is not kept: 404" "$code" 404
req GET "/fhir/Appointment/apt-999999/_history/1" "$MED"
eq "an older version == an absent appointment, byte for byte" "$r1" "$body"
req GET "/fhir/Appointment/$A1/_history" "$MED"
eq "history: 200" "$code" 200
eq "history: the current version, as an update" \
   "$(jq -c '[.type, .total, .entry[0].resource.id, .entry[0].request.method, .entry[0].response.etag]' <<<"$body")" \
   "[\"history\",1,\"$A1\",\"PUT\",\"W/\\\"$ver\\\"\"]"
logged "history" "Practitioner/med-dr" "$A1"
req GET "/fhir/Appointment/apt-999999" "$MED"; absent=$body
for h in "$A3" "$A_GOLD" $([ "$A_GOLD2" != none ] && echo "$A_GOLD2"); do
  req GET "/fhir/Appointment/$h" "$CIT_P"; eq "P reads hidden $h: 404" "$code" 404
  req GET "/fhir/Appointment/$h" "$MED"; eq "doctor reads hidden $h: 404" "$code" 404
  req GET "/fhir/Appointment/$h/_history" "$MED"
  eq "doctor lists hidden $h's history: the same bytes as an absent read" "$body" "$absent"
done
req GET "/fhir/Appointment?patient=Patient/pt-r" "$CIT_P" -H "X-Purpose-Of-Use: PWATRNY"
eq "P holds no power of attorney over R: the empty Bundle" "$(noself "$body")" '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}'
# the doctor without a relationship: the same bytes as a patient that does not exist
req GET "/fhir/Appointment?patient=Patient/pt-p" "$PSYK"
eq "no relationship: 200" "$code" 200; nobody=$body
logged "no relationship (deny logged)" "Practitioner/psyk-dr" ""
req GET "/fhir/Appointment?patient=Patient/pt-nobody" "$PSYK"
eq "non-existent patient: 200" "$code" 200
eq "no relationship == non-existent patient, byte for byte but the self link" "$(noself "$nobody")" "$(noself "$body")"
eq "the self link: the search as asked, nothing more" "$(jq -c .link <<<"$nobody")" \
   "[{\"relation\":\"self\",\"url\":\"$addr/fhir/Appointment?patient=Patient/pt-p\"}]"
eq "the empty Bundle" "$(noself "$body")" '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}'
req GET "/fhir/Appointment/$A1" "$PSYK"; r1=$body; c1=$code
req GET "/fhir/Appointment/apt-999999" "$PSYK"
eq "read of a hidden appointment: 404" "$c1" 404
eq "hidden read == absent read, byte for byte" "$r1" "$body"
# the CPR only in a POST _search body
req POST /fhir/Appointment/_search "$MED" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary "patient.identifier=urn:oid:1.2.208.176.1.2|$P_DIG"
eq "_search by CPR in the body: sees the set" "$(ids)" "$ALL"
req GET "/fhir/Appointment?patient.identifier=urn:oid:1.2.208.176.1.2|$P_DIG" "$MED"
eq "CPR in the URL: 400" "$code" 400

# --- blocks (R-BLK-2, R-BLK-4, R-APT-7)
consent() { # consent ACTOR-REF -> a block by P of that actor
  printf '{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pt-p"},"provision":{"type":"deny","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"%s"}}]}}' "$1"
}
req POST /fhir/Consent "$CIT_P" "${J[@]}" --data-binary "$(consent Practitioner/med-dr)"
eq "block of a named hospital doctor: 422 (R-BLK-2)" "$code" 422
has "R-BLK-2: suggests a site block" "$body" "block the site instead"
req POST /fhir/Consent "$MED" "${J[@]}" --data-binary "$(consent Practitioner/gp-b-dr)"
eq "a doctor cannot block for P: 403" "$code" 403
req POST /fhir/Consent "$CIT_P" "${J[@]}" --data-binary "$(consent Practitioner/gp-b-dr)"
eq "P blocks the out-of-hours GP doctor: 201" "$code" 201
BLOCK=$body
has "the block: id" "$(jq -r .id <<<"$body")" "block-"
logged_change=$(lastlog)
has "the block is in P's log at once" "$logged_change" "Patient/pt-p"
MARKER='{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"suppressed","diagnostics":"some information is withheld by the patient'"'"'s block"}]},"search":{"mode":"outcome"}}'
blocked_bundle='{"resourceType":"Bundle","type":"searchset","total":0,"entry":['"$MARKER"']}'
req GET "/fhir/Appointment?patient=Patient/pt-p" "$VAGT"
eq "blocked doctor: 200" "$code" 200
eq "blocked doctor: total 0, no appointment, only the generic marker" "$(noself "$body")" "$blocked_bundle"
logged "blocked doctor (deny logged)" "Practitioner/gp-b-dr" ""
req GET "/fhir/Appointment?patient=Patient/pt-p&_count=1" "$VAGT"
eq "blocked doctor, paged: still total 0" "$(jq -r .total <<<"$body")" 0
req GET "/fhir/Appointment/$A_G1" "$VAGT"
eq "blocked doctor reads by id: 404, like an absent one" "$code" 404
req POST '/fhir/Patient/$overview' "$VAGT" "${J[@]}" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-p"}}]}'
eq "blocked doctor overview: total 0, only the marker" "$(jq -c . <<<"$body")" "$blocked_bundle"
logged "blocked doctor overview" "Practitioner/gp-b-dr" ""
# the others are not affected
see "treating hospital doctor after the block" "$MED" "Practitioner/med-dr"
see "patient P after the block" "$CIT_P" "Patient/pt-p"
see "relative R after the block" "$CIT_R" "Patient/pt-r" -H "X-Purpose-Of-Use: PWATRNY"
see "P's own GP after the block" "$GP" "Practitioner/gp-a-dr"
# vital_interest under TREAT overrides nothing
req POST '/fhir/Patient/$overview' "$VAGT" "${J[@]}" -H "X-Break-Glass: vital_interest" -H "X-Break-Glass-Reason: Bevidstl%C3%B8s%20ved%20ankomst%20til%20vagten" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-p"}}]}'
eq "vital_interest under TREAT: still only the marker" "$(jq -c . <<<"$body")" "$blocked_bundle"
# break-the-glass under ETREAT (R-BLK-4)
req POST '/fhir/Patient/$overview' "$VAGT" "${J[@]}" -H "X-Purpose-Of-Use: ETREAT" -H "X-Break-Glass: vital_interest" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-p"}}]}'
eq "break-the-glass without a reason: 400" "$code" 400
req POST '/fhir/Patient/$overview' "$VAGT" "${J[@]}" -H "X-Purpose-Of-Use: ETREAT" -H "X-Break-Glass: vital_interest" \
  -H "X-Break-Glass-Reason: Bevidstl%C3%B8s%20ved%20indl%C3%A6ggelse" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-p"}}]}'
eq "break-the-glass: 200" "$code" 200
eq "break-the-glass: the appointments and the diagnosis" "$(ids)" "$ALL,pt-p-d1"
l=$(lastlog)
eq "break-the-glass: in P's log before the answer, by the blocked doctor" "$(cut -d'|' -f1 <<<"$l")" "Practitioner/gp-b-dr"
eq "break-the-glass: override flag" "$(cut -d'|' -f3 <<<"$l")" true
eq "break-the-glass: justification" "$(cut -d'|' -f4 <<<"$l")" "Bevidstløs ved indlæggelse"
eq "break-the-glass: audit-override extension" "$(jq -r '.entry[0].resource.extension[] | select(.url|endswith("/audit-override")) | .valueBoolean' "$work/log.json")" true
has "break-the-glass: shown prominently" "$(jq -r '.entry[0].resource.outcomeDesc' "$work/log.json")" "BLOCK OVERRIDDEN"

# the blocked doctor: no other resource gives the patient's data away either
for r in Condition Observation; do
  req GET "/fhir/$r?patient=Patient/pt-p" "$VAGT"
  [ "$(jq -r .total <<<"$body")" = 0 ] && [ "$(jq '[.entry[] | select(.search.mode=="match")] | length' <<<"$body")" = 0 ] \
    && ok || bad "blocked doctor: $r shows nothing (${body:0:200})"
done
req GET "/fhir/Condition/pt-p-d1" "$VAGT"; eq "blocked doctor reads the diagnosis by id: 404" "$code" 404
req POST '/fhir/Patient/$overview' "$PSYK" "${J[@]}" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-p"}}]}'
ov1=$body
req POST '/fhir/Patient/$overview' "$PSYK" "${J[@]}" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-nobody"}}]}'
eq "overview, no relationship == non-existent patient, byte for byte" "$ov1" "$body"
req GET "/fhir/Patient/pt-p" "$PSYK"; r1="$code $body"
req GET "/fhir/Patient/pt-nobody" "$PSYK"
eq "Patient read, no relationship == non-existent" "$r1" "$code $body"
req GET "/fhir/Consent?patient=Patient/pt-p" "$PSYK"; r1=$body
req GET "/fhir/Consent?patient=Patient/pt-nobody" "$PSYK"
eq "Consent search, no relationship == non-existent" "$(noself "$r1")" "$(noself "$body")"
req GET "/fhir/Patient/$P_DIG" "$CIT_P"
eq "a CPR in the URL path: 400" "$code" 400

# --- a site block (R-BLK-1b, R-APT-7): hosp-med's appointments are hidden from professionals
# elsewhere; the hospital's own (clinic hosp) and the GP's stay visible; hosp-med reads its own
req POST /fhir/Consent "$CIT_P" "${J[@]}" --data-binary "$(consent Organization/hosp-med)"
eq "P blocks the site hosp-med: 201" "$code" 201
req GET "/fhir/Appointment?patient=Patient/pt-p" "$GP"
eq "GP after the site block: all but hosp-med's" "$(ids)" "$(sorted "$A2" "$A_GPDUP" "$A_G1")"
eq "GP after the site block: total counts only what is shown" "$(jq -r .total <<<"$body")" 3
eq "GP after the site block: the generic marker, last" "$(jq -c '.entry[-1]' <<<"$body")" "$MARKER"
eq "GP after the site block: nothing else" "$(jq '.entry | length' <<<"$body")" 4
logged "GP after the site block" "Practitioner/gp-a-dr" "$(sorted "$A2" "$A_GPDUP" "$A_G1")"
eq "GP after the site block: what it withheld is a denial in P's log (R-BLK-4)" "$(withheld)" "$A1"
see "hosp-med's own doctor after the site block (R-ACC-2)" "$MED" "Practitioner/med-dr"

# paging counts only what may be shown
req GET "/fhir/Appointment?patient=Patient/pt-p&_count=1&_offset=1" "$GP"
eq "paged: total unchanged" "$(jq -r .total <<<"$body")" 3
eq "paged: one match" "$(jq '[.entry[] | select(.search.mode=="match")] | length' <<<"$body")" 1
# a FHIR client pages by following Bundle.link "next": every shown appointment once
url="$addr/fhir/Appointment?patient=Patient/pt-p&_count=1"; got=""; pages=0
while [ -n "$url" ] && [ "$pages" -lt 10 ]; do
  req GET "${url#"$addr"}" "$GP"; pages=$((pages+1)); got="$got $(ids)"
  url=$(jq -r '[.link[]? | select(.relation=="next") | .url][0] // empty' <<<"$body")
done
eq "following next: every shown appointment once" "$(sorted $got)" "$(sorted "$A2" "$A_GPDUP" "$A_G1")"
eq "following next: one page each" "$pages" 3
req POST /fhir/Appointment/_search "$GP" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary "patient.identifier=urn:oid:1.2.208.176.1.2|$P_DIG&_count=1"
next=$(jq -r '[.link[]? | select(.relation=="next") | .url][0] // empty' <<<"$body")
has "a search by CPR links on by internal id" "$next" "patient=Patient/pt-p&_count=1&_offset=1"
hasnt "a search by CPR: no CPR in its links (R-CPR-2)" "$next" "$P_DIG"
# an override with the patient's consent given in the situation, on a search (R-BLK-4)
req GET "/fhir/Appointment?patient=Patient/pt-p" "$VAGT" -H "X-Break-Glass: consent" -H "X-Break-Glass-Reason: patienten%20accepterer%20i%20situationen"
eq "consent override on a search: the appointments" "$(ids)" "$ALL"
l=$(lastlog)
eq "consent override: logged with the flag" "$(cut -d'|' -f3 <<<"$l")" true
eq "consent override: and the reason" "$(cut -d'|' -f4 <<<"$l")" "patienten accepterer i situationen"
# P lifts the named block: it takes effect at once (R-BLK-5)
lift=$(jq -c '.status="inactive"' <<<"$BLOCK")
req PUT "/fhir/Consent/$(jq -r .id <<<"$BLOCK")" "$VAGT" "${J[@]}" --data-binary "$lift"
eq "the blocked doctor cannot lift the block: 404, hidden equals absent" "$code" 404
r1=$body
req PUT "/fhir/Consent/block-999" "$VAGT" "${J[@]}" --data-binary "$(jq -c '.id="block-999"' <<<"$lift")"
eq "the blocked doctor's lift == lifting a block that does not exist" "$r1" "$body"
req PUT "/fhir/Consent/$(jq -r .id <<<"$BLOCK")" "$CIT_P" "${J[@]}" --data-binary "$lift"
eq "P lifts the block: 200" "$code" 200
req GET "/fhir/Appointment?patient=Patient/pt-p" "$VAGT"
eq "after the lift: the doctor sees all but the site-blocked hosp-med's" "$(ids)" "$(sorted "$A2" "$A_GPDUP" "$A_G1")"

# --- the Patient resource: the CPR only to the patient themself (R-CPR-2)
req POST /fhir/Patient/_search "$CIT_P" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary "identifier=urn:oid:1.2.208.176.1.2|$P_DIG"
eq "P finds themself by CPR" "$(ids)" "pt-p"
has "P sees their own CPR" "$body" "$P_DIG"
req POST /fhir/Patient/_search "$MED" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary "identifier=urn:oid:1.2.208.176.1.2|$P_DIG"
eq "the treating doctor finds P by CPR" "$(ids)" "pt-p"
logged "Patient search" "Practitioner/med-dr"
req GET /fhir/Patient/pt-p "$CIT_R" -H "X-Purpose-Of-Use: PWATRNY"
eq "R reads P: 200" "$code" 200
req GET /fhir/AuditEvent?patient=Patient/pt-p "$CIT_R" -H "X-Purpose-Of-Use: PWATRNY"
eq "R (attorney over all) reads P's log" "$code" 200
[ "$(jq -r .total <<<"$body")" -gt 10 ] && ok || bad "R sees P's log entries"
req GET /fhir/AuditEvent?patient=Patient/pt-p "$MED"
eq "a doctor reads P's log: the empty Bundle" "$(noself "$body")" '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}'

# --- _include and _revinclude go through the same check (issue 3, "No leaks")
incl() { jq -r '[.entry[]? | select(.search.mode=="include") | .resource.id] | sort | join(",")' <<<"$body"; }
req GET "/fhir/Appointment?patient=Patient/pt-p&_include=Appointment:patient" "$MED"
eq "_include: the matches as before" "$(ids)" "$ALL"
eq "_include: the Patient as an include" "$(incl)" "pt-p"
eq "_include: not counted in total" "$(jq -r .total <<<"$body")" 4
logged "_include: one entry, the Patient in it" "Practitioner/med-dr" "$(sorted ${ALL//,/ } pt-p)"
req GET "/fhir/Appointment?patient=Patient/pt-p&_include=Appointment:patient" "$PSYK"
r1=$body
logged "_include without a relationship: no Patient logged" "Practitioner/psyk-dr" ""
req GET "/fhir/Appointment?patient=Patient/pt-nobody&_include=Appointment:patient" "$PSYK"
eq "_include without a relationship == a patient that does not exist, byte for byte" "$(noself "$r1")" "$(noself "$body")"
req GET "/fhir/Patient?_id=pt-p&_revinclude=Appointment:patient" "$MED"
eq "_revinclude: the Patient matches" "$(ids)" "pt-p"
eq "_revinclude: the appointments as includes" "$(incl)" "$ALL"
logged "_revinclude: one entry" "Practitioner/med-dr" "$(sorted ${ALL//,/ } pt-p)"
req GET "/fhir/Patient?_id=pt-p&_revinclude=Appointment:patient" "$PSYK"; r1=$body
req GET "/fhir/Patient?_id=pt-nobody&_revinclude=Appointment:patient" "$PSYK"
eq "_revinclude without a relationship == a patient that does not exist" "$(noself "$r1")" "$(noself "$body")"
req GET "/fhir/Appointment?patient=Patient/pt-p&_include=Appointment:location" "$MED"
eq "_include of something unsupported: 400" "$code" 400
eq "_include refused: an OperationOutcome" "$(jq -r .resourceType <<<"$body")" OperationOutcome
req GET /fhir/metadata "$MED"
eq "CapabilityStatement: Appointment's searchInclude" "$(jq -r '.rest[0].resource[] | select(.type=="Appointment") | .searchInclude | join(",")' <<<"$body")" "Appointment:patient,Appointment:actor"

# --- narrowing by date before deciding (the patient's upcoming appointments)
req GET "/fhir/Appointment?patient=Patient/pt-p&date=2026-12-02" "$MED"
has "date=2026-12-02: A1, which starts at 11:00 that day" "$(ids)" "$A1"
eq "date=2026-12-02: every match starts that day" "$(jq '[.entry[] | select(.search.mode=="match") | .resource.start | startswith("2026-12-02")] | all' <<<"$body")" true
logged "a date search" "Practitioner/med-dr" "$(ids | tr , '\n' | sort | paste -sd, -)"
req GET "/fhir/Appointment?patient=Patient/pt-p&date=ge2026-13-01" "$MED"
eq "a malformed date: 400" "$code" 400

# --- the directory: the references in appointments and log entries resolve (R-API-1)
logsize() { curl -s -H "Authorization: Bearer $SYS" "$addr/metrics" | awk '$1=="overblik_log_size"{print $2}'; }
before=$(logsize)
req GET "/fhir/Organization/hosp-med" "$CIT_P"
eq "the responsible clinic resolves for the patient" "$code" 200
eq "Organization: its name" "$(jq -r .name <<<"$body")" "Medicinsk afdeling"
eq "Organization: part of the hospital" "$(jq -r .partOf.reference <<<"$body")" "Organization/hosp"
req GET "/fhir/Practitioner/med-dr" "$CIT_P"
eq "a log entry's agent resolves for the patient" "$code" 200
eq "Practitioner: the resource type" "$(jq -r .resourceType <<<"$body")" Practitioner
req GET "/fhir/Organization/no-such-org" "$MED"
eq "an unknown organisation: 404" "$code" 404
req GET "/fhir/Organization" "$MED"
eq "the directory is not listed wholesale: 400" "$code" 400
eq "directory reads write no log entry (no patient data)" "$(logsize)" "$before"
[ -n "$before" ] && ok || bad "the log size is in /metrics"

# --- statistics over HTTP (R-STAT): a generated world on a second server
sdb="$work/s.db"
"$bin" init --db "$sdb" >/dev/null && "$bin" gen --db "$sdb" --patients 2000 --seed 5 >/dev/null 2>&1 && ok || bad "gen for stats"
coord=$(sqlite3 "$sdb" "select json_extract(json,'\$.coordinators[0]') from records where type='cluster' and json_extract(json,'\$.id')='klynge-0'")
member=$(sqlite3 "$sdb" "select json_extract(json,'\$.members[1]') from records where type='cluster' and json_extract(json,'\$.id')='klynge-0'")
csite=$(sqlite3 "$sdb" "select json_extract(json,'\$.sites[0]') from records where type='professional' and json_extract(json,'\$.id')='$coord'")
kk=$(sqlite3 "$sdb" "select coalesce(json_extract(json,'\$.k'),5) from records where type='cluster' and json_extract(json,'\$.id')='klynge-0'")
[ -n "$coord" ] && [ -n "$member" ] && [ -n "$csite" ] && ok || bad "found klynge-0's coordinator and a member"
serve_bg srv2 saddr "$work/out2.txt" "$work/err2.txt" --db "$sdb" --listen 127.0.0.1:0 --threads 2
sreq='{"cluster":"klynge-0","code":"T90","from":"2025-11-01","to":"2026-11-01","report_date":"2026-11-01","format":"json"}'
COORD=$("$bin" token --db "$sdb" --kind professional --sub "$coord" --site "$csite")
scode=$(curl -s -o "$work/st.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $COORD" \
  -H "Content-Type: application/json" --data-binary "$sreq" "$saddr/api/stats/cluster")
eq "stats as the coordinator: 200" "$scode" 200
small=$(jq --argjson k "$kk" '[(.rows[] | .listed, .diagnosed, .cells[]), .total.diagnosed,
          .total.cells[] | select(type == "number" and . > 0 and . < $k)] | length' "$work/st.json" 2>/dev/null)
eq "stats: no released figure in 1..k-1" "$small" 0
eq "stats: audit passed" "$(jq -r .audit.passed "$work/st.json")" true
OTHER=$("$bin" token --db "$sdb" --kind professional --sub "$member-dr0" --site "$member")
scode=$(curl -s -o "$work/st2.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OTHER" \
  -H "Content-Type: application/json" --data-binary "$sreq" "$saddr/api/stats/cluster")
[ "$member-dr0" != "$coord" ] && ok || bad "the other member's doctor is not the coordinator"
eq "stats as a non-coordinator: 403" "$scode" 403
eq "stats refusal: OperationOutcome" "$(jq -r .resourceType "$work/st2.json")" OperationOutcome
scode=$(curl -s -o "$work/st3.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OTHER" \
  -H "Content-Type: application/json" --data-binary "${sreq/klynge-0/klynge-nope}" "$saddr/api/stats/cluster")
eq "stats, unknown cluster: the same 403" "$scode" 403
eq "stats, unknown cluster: the same body" "$(cat "$work/st3.json")" "$(cat "$work/st2.json")"
kill -TERM "$srv2"; wait "$srv2"; srv2=""

# --- R-CPR-2: no CPR in any answer to anyone but P, nor in the server's stderr/access log
for c in "$P_DIG" "$P_CPR" "$R_DIG" "$R_CPR"; do
  grep -qF -- "$c" "$work/to_others" && bad "a CPR reached a caller other than the patient" || ok
  grep -qF -- "$c" "$work/err.txt" && bad "a CPR is in the server's stderr" || ok
done
has "the access log is on" "$(cat "$work/err.txt")" "GET /fhir/Appointment"
kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
eq "SIGTERM: exit 0" "$rc" 0
out=$("$bin" log verify --db "$db" 2>&1); eq "log verify" "$?" 0

the_end
