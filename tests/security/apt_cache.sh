#!/usr/bin/env bash
# ATTACK (issue 24; R-APT-1, R-APT-2; docs/security.md T-CONC-1, T-CONC-2): what a search
# shows after an appointment write has answered must be what that write left, whatever
# else the server is doing.
# - T-CONC-2: a source corrects a misfiled appointment (PUT with another patient's CPR):
#   the old patient must no longer see it, in any view that reads the appointment cache
#   (their own search, POST _search, Patient?_revinclude, the overview), the new one must.
# - T-CONC-1: under mixed load (statistics releases scanning every data item, concurrent
#   searches), a source rewrites an appointment as cancelled and unshared, then shared
#   again, many times; the patient's first search after each answer must show exactly what
#   was written. With one SQLite connection shared by every thread, a running scan pinned
#   an old snapshot and the search read (and cached) the booked row.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq sqlite3
work=$(mktemp -d)
srv=""
loads=()
cleanup() {
  for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

db="$work/t.db"
np=${OB_SEC_PATIENTS:-20000}
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients "$np" --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients "$np" --seed 5 >/dev/null 2>&1
cpr_of() { grep -m1 "\"id\":\"$1\"" "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4; }
cpr0=$(cpr_of pt-0) cpr1=$(cpr_of pt-1)
gp0=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
coord=$(sqlite3 "$db" "select json_extract(json,'\$.coordinators[0]') from records where type='cluster' and json_extract(json,'\$.id')='klynge-0'")
csite=$(sqlite3 "$db" "select json_extract(json,'\$.sites[0]') from records where type='professional' and json_extract(json,'\$.id')='$coord'")
[ -n "$cpr0" ] && [ -n "$cpr1" ] && [ -n "$gp0" ] && [ -n "$coord" ] && ok || { bad "test data"; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 4
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; exit 1; }
tok() { "$bin" token --db "$db" "$@"; }
SYS=$(mint "$db" --kind system --client-id epj-hosp-0 --site hosp-0) # one per write: fresh
CIT0=$(tok --kind citizen --cpr "$cpr0")
CIT1=$(tok --kind citizen --cpr "$cpr1")
GP0=$(tok --kind professional --sub "$gp0-dr0" --site "$gp0")
COORD=$(tok --kind professional --sub "$coord" --site "$csite")

# apt IDENT CPR STATUS SHARED: an Appointment of epj-hosp-0
apt() {
  printf '{"resourceType":"Appointment","identifier":[{"system":"urn:t","value":"%s"}],"status":"%s","start":"2026-12-20T09:00:00Z","participant":[{"actor":{"identifier":{"system":"urn:oid:1.2.208.176.1.2","value":"%s"}},"status":"accepted"}],"extension":[{"url":"https://overblik.dk/fhir/StructureDefinition/shared","valueBoolean":%s}]}' "$1" "$3" "$2" "$4"
}
# put IDENT CPR STATUS SHARED -> prints the HTTP status; the answer in $work/put.json
put() {
  curl -s -o "$work/put.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $(fresh "$SYS")" \
    -H "Content-Type: application/fhir+json" --data-binary "$(apt "$@")" \
    "$addr/fhir/Appointment?identifier=urn:t%7C$1"
}
# shows TOKEN METHOD PATH [DATA] -> "yes" when the answer names Appointment/$id
shows() {
  local t=$1 m=$2 p=$3 d=${4:-}
  local args=(-s -X "$m" -H "Authorization: Bearer $t")
  # a professional states the purpose; a citizen reads their own (PATRQT, the default)
  [ "$t" = "$GP0" ] && args+=(-H "X-Purpose-Of-Use: TREAT")
  [ -n "$d" ] && args+=(-H "Content-Type: application/fhir+json" --data-binary "$d")
  if curl "${args[@]}" "$addr$p" | grep -qF "/Appointment/$id\""; then echo yes; else echo no; fi
}

# --- T-CONC-2: moved to another patient
code=$(put mv-1 "$cpr0" booked true)
eq "created on pt-0" "$code" 201
id=$(jq -r .id "$work/put.json")
OV0='{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/pt-0"}}]}'
views=(
  "the patient's own search|$CIT0|GET|/fhir/Appointment?patient=Patient/pt-0|"
  "the GP's search|$GP0|GET|/fhir/Appointment?patient=Patient/pt-0|"
  "the GP's POST _search|$GP0|POST|/fhir/Appointment/_search?patient=Patient/pt-0|"
  "the GP's Patient search with _revinclude|$GP0|GET|/fhir/Patient?_id=pt-0&_revinclude=Appointment:patient|"
  "the GP's overview|$GP0|POST|/fhir/Patient/\$overview|$OV0"
)
for v in "${views[@]}"; do
  IFS='|' read -r why t m p d <<<"$v"
  eq "before the move, $why shows it" "$(shows "$t" "$m" "$p" "$d")" yes
done
eq "pt-1 does not have it yet" "$(shows "$CIT1" GET "/fhir/Appointment?patient=Patient/pt-1")" no
code=$(put mv-1 "$cpr1" booked true)
eq "moved to pt-1" "$code" 200
for v in "${views[@]}"; do
  IFS='|' read -r why t m p d <<<"$v"
  eq "after the move, $why no longer shows it" "$(shows "$t" "$m" "$p" "$d")" no
done
eq "pt-1 sees it after the move" "$(shows "$CIT1" GET "/fhir/Appointment?patient=Patient/pt-1")" yes

# --- T-CONC-1: under load, the first search after each write shows what it wrote
sreq='{"cluster":"klynge-0","code":"T90","from":"2025-11-01","to":"2026-11-01","report_date":"2026-11-01","format":"json"}'
# one loop of statistics releases (each is audited with every earlier one by GLPK, so its
# cost grows with the loop: two of them starved the writes of CPU under ASan), one of searches
(while :; do curl -s -o /dev/null -X POST -H "Authorization: Bearer $COORD" \
   -H "Content-Type: application/json" --data-binary "$sreq" "$addr/api/stats/cluster"; done) &
loads+=($!)
(while :; do curl -s -o /dev/null -H "Authorization: Bearer $GP0" -H "X-Purpose-Of-Use: TREAT" \
   "$addr/fhir/Appointment?patient=Patient/pt-0"; done) &
loads+=($!)
stale=0 writes=0 failed=0
end=$((SECONDS + 60))
i=0
while [ $SECONDS -lt $end ] && [ $i -lt 60 ]; do
  if [ $((i % 2)) -eq 0 ]; then st=booked sh=true want=yes; else st=cancelled sh=false want=no; fi
  code=$(put ld-1 "$cpr0" $st $sh)
  [ "$code" = 200 ] || [ "$code" = 201 ] || { failed=$((failed + 1)); i=$((i + 1)); continue; }
  id=$(jq -r .id "$work/put.json")
  writes=$((writes + 1))
  [ "$(shows "$CIT0" GET "/fhir/Appointment?patient=Patient/pt-0")" = "$want" ] || stale=$((stale + 1))
  i=$((i + 1))
done
for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
wait "${loads[@]}" 2>/dev/null
loads=()
echo "under load: $writes writes, $stale not seen by the next search, $failed refused"
[ "$writes" -ge 5 ] && ok || bad "too few writes under load ($writes)"
eq "writes refused under load" "$failed" 0
eq "writes not seen by the next search (R-APT-2)" "$stale" 0
kill -TERM "$srv"; wait "$srv"; srv=""
the_end
