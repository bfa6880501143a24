#!/usr/bin/env bash
# End-to-end FHIR flow over the wire (issue 3; R-APT-1..7, R-ACC-1, R-ACC-9, R-BLK-2, R-BLK-4,
# R-LOG-1, R-CPR-2, R-STAT): a hand-made world loaded with `overblik load`, a real
# `overblik serve` on 127.0.0.1:0, curl + jq.
# - a source system creates an appointment (comment dropped, fictive end), updates it with a
#   conditional PUT, cancels another; another source cannot change it, a professional cannot
#   write, a calendar entry without a patient is refused; unshared and pre-go-live
#   appointments are never shown;
# - the patient, their relative with power of attorney and the treating hospital doctor each
#   see exactly the expected set; a doctor without a relationship gets the byte-identical
#   empty Bundle a non-existent patient gets;
# - a named block of the GP doctor (a hospital doctor's is refused, R-BLK-2): total 0, no
#   appointment, only the generic marker; break-the-glass on $overview shows the data and the
#   patient's AuditEvent log shows the override flag and the reason;
# - after every read the patient's AuditEvent log already has its entry;
# - POST /api/stats/cluster as a coordinator (no released figure in 1..k-1) and as another (403);
# - no CPR in the server's stderr (access log on) nor in any answer to anyone but the patient.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
command -v jq >/dev/null || { echo "jq is required"; exit 1; }
work=$(mktemp -d)
srv=""; srv2=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  [ -n "$srv2" ] && kill "$srv2" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
pass=0; failn=0
ok() { pass=$((pass+1)); }
bad() { failn=$((failn+1)); echo "FAIL: $*"; }
has() { if grep -qF -- "$3" <<<"$2"; then ok; else bad "$1 (wanted '$3' in: ${2:0:300})"; fi; }
hasnt() { if grep -qF -- "$3" <<<"$2"; then bad "$1 (did not want '$3')"; else ok; fi; }
eq() { if [ "$2" = "$3" ]; then ok; else bad "$1 (got '$2', wanted '$3')"; fi; }

# --- the world: a GP clinic, a hospital with two departments, three doctors, patient P,
# relative R with power of attorney over P, two source systems (go-live 2020-01-01)
P_CPR=010190-1234; P_DIG=0101901234      # R-CPR-1: 1 Jan 1990, 7th digit 1 -> 19xx
R_CPR=150575-2468; R_DIG=1505752468
cat >"$work/world.ndjson" <<'EOF'
{"type":"org","id":"gp-a","kind":"gp_clinic","name":"Laegerne Torvet","provider_number":"100007"}
{"type":"org","id":"hosp","kind":"hospital","name":"Odense Universitetshospital"}
{"type":"org","id":"hosp-med","kind":"department","parent":"hosp","name":"Medicinsk afdeling"}
{"type":"org","id":"hosp-psyk","kind":"department","parent":"hosp","name":"Psykiatrisk afdeling"}
{"type":"professional","id":"gp-a-dr","name":"Anne Holm","role":"doctor","authorisation_id":"0A1B2","sites":["gp-a"]}
{"type":"professional","id":"med-dr","name":"Hans Berg","role":"doctor","authorisation_id":"0C3D4","sites":["hosp-med"]}
{"type":"professional","id":"psyk-dr","name":"Ole Dam","role":"doctor","authorisation_id":"0E5F6","sites":["hosp-psyk"]}
{"type":"patient","id":"pt-p","name":"Camilla Christensen","cpr":"010190-1234","gp":"gp-a"}
{"type":"patient","id":"pt-r","name":"Rasmus Christensen","cpr":"150575-2468","gp":"gp-a"}
{"type":"relative","patient":"pt-p","holder":"pt-r","capacity":"attorney","scope":"all","from":"2020-01-01"}
{"type":"relationship","patient":"pt-p","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-r","org":"gp-a","kind":"listed","from":"2015-01-01"}
{"type":"relationship","patient":"pt-p","org":"hosp-med","professional":"med-dr","kind":"treatment","from":"2026-01-01"}
{"type":"source","client_id":"epj-hosp","site":"hosp","go_live":"2020-01-01","name":"Hospital EPJ"}
{"type":"source","client_id":"gpsys","site":"gp-a","go_live":"2020-01-01","name":"XMO"}
{"type":"appointment","source":"gpsys","system":"urn:gp:booking","identifier":"G-1","patient":"pt-p","start":"2026-12-10T08:00:00Z","end":"2026-12-10T08:15:00Z"}
{"type":"appointment","source":"gpsys","system":"urn:gp:booking","identifier":"G-OLD","patient":"pt-p","start":"2019-05-01T08:00:00Z","end":"2019-05-01T08:15:00Z"}
{"type":"item","id":"pt-p-d1","patient":"pt-p","category":"diagnosis","origin":"gp-a","time":"2024-05-02T10:00:00Z","code":"T90"}
EOF
db="$work/w.db"
"$bin" init --db "$db" >/dev/null && ok || { bad "init"; echo "$pass passed, $failn failed"; exit 1; }
out=$("$bin" load --db "$db" "$work/world.ndjson" 2>&1) && ok || { bad "load: $out"; echo "$pass passed, $failn failed"; exit 1; }

"$bin" serve --db "$db" --listen 127.0.0.1:0 --threads 2 --access-log \
  >"$work/out.txt" 2>"$work/err.txt" &
srv=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.txt" | head -1)
[ -n "$addr" ] && ok || { bad "server did not print its address"; cat "$work/err.txt"; exit 1; }

tok() { "$bin" token --db "$db" "$@"; }
SYS=$(tok --kind system --client-id epj-hosp --site hosp)
GPSYS=$(tok --kind system --client-id gpsys --site gp-a)
CIT_P=$(tok --kind citizen --cpr "$P_CPR")
CIT_R=$(tok --kind citizen --cpr "$R_CPR")
GP=$(tok --kind professional --sub gp-a-dr --site gp-a)
MED=$(tok --kind professional --sub med-dr --site hosp-med)
PSYK=$(tok --kind professional --sub psyk-dr --site hosp-psyk)

# req METHOD PATH TOKEN [curl args...] -> $code, $hdrs, $body; every body is kept in $work/all_<who>
nreq=0
req() {
  local m=$1 p=$2 t=$3; shift 3
  nreq=$((nreq+1))
  curl -s -o "$work/body" -D "$work/hdrs" -X "$m" -H "Authorization: Bearer $t" "$@" "$addr$p" >/dev/null 2>&1
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
lastlog() {
  curl -s -H "Authorization: Bearer $CIT_P" "$addr/fhir/AuditEvent?_count=1" >"$work/log.json"
  jq -r '.entry[0].resource | [.agent[0].who.reference,
     ([.entity[1:][]?.what.identifier.value | split(",")[] | sub("^[A-Za-z]+/"; "")] | sort | join(",")),
     ([.entity[0].detail[]? | select(.type=="override") | .valueString][0] // ""),
     ([.extension[]? | select(.url|endswith("audit-override-justification")) | .valueString][0] // "")]
     | join("|")' "$work/log.json"
}
logged() { # logged "what" actor-ref [ids]: the read just answered is already P's newest log entry
  local l; l=$(lastlog)
  eq "$1: in P's log before the answer" "$(cut -d'|' -f1 <<<"$l")" "$2"
  [ $# -ge 3 ] && eq "$1: logged ids" "$(cut -d'|' -f2 <<<"$l")" "$3"
}

# --- writes (R-APT-1..5)
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-1 2026-12-02T09:00:00Z \
  ',"comment":"Husk fastende blodproeve","description":"secret note","extension":[{"url":"http://overblik.dk/fhir/StructureDefinition/responsible-clinic","valueReference":{"reference":"Organization/hosp-med"}}]')"
eq "source creates an appointment: 201" "$code" 201
A1=$(jq -r .id <<<"$body")
has "create: Location header" "$hdrs" "Location: $addr/fhir/Appointment/$A1/_history/1"
hasnt "create: comment dropped" "$body" "fastende"
hasnt "create: description dropped" "$body" "secret note"
eq "create: fictive end = start + 1 h" "$(jq -r .end <<<"$body")" "2026-12-02T10:00:00Z"
eq "create: fictive-end extension" "$(jq -r '.extension[] | select(.url|endswith("fictive-end")) | .valueBoolean' <<<"$body")" true
eq "create: responsible clinic" "$(jq -r '.extension[] | select(.url|endswith("responsible-clinic")) | .valueReference.display' <<<"$body")" "Medicinsk afdeling"
eq "create: patient by internal id" "$(jq -r '.participant[0].actor.reference' <<<"$body")" "Patient/pt-p"
grep -qF fastende "$db" && bad "the comment reached the database file" || ok
req POST /fhir/Appointment "$SYS" "${J[@]}" --data-binary "$(apt H-1 2026-12-02T09:00:00Z)"
eq "same identifier again: 409" "$code" 409
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-1" "$SYS" "${J[@]}" \
  --data-binary "$(apt H-1 2026-12-02T11:00:00Z ',"end":"2026-12-02T11:30:00Z","extension":[{"url":"http://overblik.dk/fhir/StructureDefinition/responsible-clinic","valueReference":{"reference":"Organization/hosp-med"}}]')"
eq "conditional PUT updates: 200" "$code" 200
eq "conditional PUT: same id" "$(jq -r .id <<<"$body")" "$A1"
eq "conditional PUT: new start" "$(jq -r .start <<<"$body")" "2026-12-02T11:00:00Z"
has "conditional PUT: version 2" "$hdrs" 'ETag: W/"2"'
req PUT "/fhir/Appointment?identifier=urn:sp:booking|H-1" "$GPSYS" "${J[@]}" \
  --data-binary "$(apt H-1 2026-12-02T11:00:00Z | jq -c '.status="cancelled"')"
[ "$code" = 200 ] || [ "$code" = 201 ] && ok || bad "another source's PUT with the same identifier: its own appointment ($code $body)"
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
  ',"extension":[{"url":"http://overblik.dk/fhir/StructureDefinition/shared","valueBoolean":false}]')"
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
req POST /fhir/Appointment "$GPSYS" "${J[@]}" --data-binary "$(apt G-OLD2 2019-06-01T09:00:00Z)"
if [ "$code" = 201 ]; then A_GOLD2=$(jq -r .id <<<"$body"); ok  # accepted, but never shown (R-APT-5)
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
see "treating hospital doctor (TREAT)" "$MED" "Practitioner/med-dr" -H "X-Purpose-Of-Use: TREAT"
see "P's GP (listed)" "$GP" "Practitioner/gp-a-dr"
req GET "/fhir/Appointment/$A1" "$MED"
eq "read by id: 200" "$code" 200
logged "read by id" "Practitioner/med-dr" "$A1"
for h in "$A3" "$A_GOLD"; do
  req GET "/fhir/Appointment/$h" "$CIT_P"; eq "P reads hidden $h: 404" "$code" 404
  req GET "/fhir/Appointment/$h" "$MED"; eq "doctor reads hidden $h: 404" "$code" 404
done
req GET "/fhir/Appointment?patient=Patient/pt-r" "$CIT_P" -H "X-Purpose-Of-Use: PWATRNY"
eq "P holds no power of attorney over R: the empty Bundle" "$(jq -c . <<<"$body")" '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}'
# the doctor without a relationship: the same bytes as a patient that does not exist
req GET "/fhir/Appointment?patient=Patient/pt-p" "$PSYK"
eq "no relationship: 200" "$code" 200; nobody=$body
logged "no relationship (deny logged)" "Practitioner/psyk-dr" ""
req GET "/fhir/Appointment?patient=Patient/pt-nobody" "$PSYK"
eq "non-existent patient: 200" "$code" 200
eq "no relationship == non-existent patient, byte for byte" "$nobody" "$body"
eq "the empty Bundle" "$(jq -c . <<<"$body")" '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}'
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

echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
