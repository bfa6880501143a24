#!/usr/bin/env bash
# Crash test over the wire (issue 3, R-LOG-1): "killing the server mid-load loses no
# acknowledged entry". A generated world (2,000 patients) on a real `overblik serve`;
# 8 concurrent readers, reader i searching only patient pt-i's appointments as that patient's
# GP, and one source system creating appointments with numbered identifiers; after a few
# seconds the server gets SIGKILL. Then:
# - `overblik log verify` passes;
# - for every reader, the log entries by its professional about its patient are at least the
#   acknowledged (200 with a complete Bundle) searches, and at most one more (the request that
#   was in flight when the server died);
# - every acknowledged (201) appointment is in the store, with its data-change log entry;
# - a restarted server on the same database serves, logs, and the log verifies again.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq sqlite3 psql
work=$(mktemp -d)
srv=""; loops=()
cleanup() {
  touch "$work/stop" 2>/dev/null
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
READERS=8
LOAD_SECONDS=${OB_KILL_SECONDS:-4}

db="$work/k.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 2000 --seed 3 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/k.ndjson" --patients 2000 --seed 3 >/dev/null 2>&1
field() { grep -m1 "\"id\":\"$1\"" "$work/k.ndjson" | grep -o "\"$2\":\"[^\"]*\"" | cut -d'"' -f4; }

start() { # start: the server on $db; sets $srv and $addr
  serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
}
start
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; the_end; exit 1; }

# entries <actor> <patient>: decision entries by that actor about that patient
entries() {
  dbq "$db" "select count(*) from log_entries where actor_id='$1' and patient='$2'" \
    "select count(*) from log_pg_entry where actor_id='$1' and patient='$2'"
}

# reader i: patient pt-i as their GP's first doctor; counts 200s with a complete Bundle
reader() {
  local i=$1 t=$2 n=0 c rc
  while :; do
    c=$(curl -s -o "$work/r$i.body" -w '%{http_code}' -H "Authorization: Bearer $t" \
          "$addr/fhir/Appointment?patient=Patient/pt-$i&_count=5")
    rc=$?
    if [ $rc -eq 0 ] && [ "$c" = 200 ] && jq -e '.resourceType == "Bundle"' "$work/r$i.body" >/dev/null 2>&1; then
      n=$((n+1)); echo "$n" >"$work/r$i.acks"
    elif [ -e "$work/stop" ]; then break
    fi
  done
}
# writer: a hospital's source system creating appointments W-1, W-2, ... for pt-0
writer() {
  local t=$1 cpr=$2 n=0 k=0 c rc
  while :; do
    k=$((k+1))
    c=$(curl -s -o "$work/w.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $(fresh "$t")" \
          -H "Content-Type: application/fhir+json" --data-binary \
          "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":\"urn:kill\",\"value\":\"W-$k\"}],\"status\":\"booked\",\"start\":\"2026-12-02T09:00:00Z\",\"participant\":[{\"actor\":{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"$cpr\"}},\"status\":\"accepted\"}]}" \
          "$addr/fhir/Appointment")
    rc=$?
    if [ $rc -eq 0 ] && [ "$c" = 201 ] && jq -e '.resourceType == "Appointment"' "$work/w.body" >/dev/null 2>&1; then
      n=$((n+1)); echo "W-$k" >>"$work/w.acks"
    elif [ -e "$work/stop" ]; then break
    fi
  done
}

declare -A actor base
for i in $(seq 0 $((READERS-1))); do
  gp=$(field "pt-$i" gp)
  actor[$i]="$gp-dr0"
  base[$i]=$(entries "${actor[$i]}" "pt-$i")
  tok=$("$bin" token --db "$db" --kind professional --sub "${actor[$i]}" --site "$gp" --ttl 600)
  reader "$i" "$tok" &
  loops+=($!)
done
cpr0=$(field pt-0 cpr); cpr0=${cpr0/-/}
sys=$(mint "$db" --kind system --client-id epj-hosp-0 --site hosp-0 --ttl 600)
: >"$work/w.acks"
writer "$sys" "$cpr0" &
loops+=($!)

sleep "$LOAD_SECONDS"
kill -9 "$srv"; wait "$srv" 2>/dev/null; srv=""
touch "$work/stop"
for p in "${loops[@]}"; do wait "$p"; done
loops=()

out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after SIGKILL" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | tail -3

total_acks=0
for i in $(seq 0 $((READERS-1))); do
  acks=$(cat "$work/r$i.acks" 2>/dev/null || echo 0)
  got=$(( $(entries "${actor[$i]}" "pt-$i") - ${base[$i]} ))
  total_acks=$((total_acks + acks))
  [ "$got" -ge "$acks" ] && ok || bad "reader $i: $acks acknowledged searches but only $got log entries (an acknowledged entry was lost)"
  [ "$got" -le $((acks + 1)) ] && ok || bad "reader $i: $got log entries for $acks acknowledged searches (more than the one in flight)"
done
[ "$total_acks" -ge $((READERS * 5)) ] && ok || bad "the load ran: only $total_acks acknowledged searches"
echo "kill.sh: $total_acks acknowledged searches, $(wc -l <"$work/w.acks") acknowledged creates before SIGKILL" >&2

wacks=$(wc -l <"$work/w.acks")
[ "$wacks" -ge 1 ] && ok || bad "the writer had at least one acknowledged create"
lost=0
while read -r ident; do
  n=$(dbq "$db" "select count(*) from appointments where source='epj-hosp-0' and ident_system='urn:kill' and ident_value='$ident'" \
    "select count(*) from store_appointments where source='epj-hosp-0' and ident_system='urn:kill' and ident_value='$ident'")
  [ "$n" = 1 ] || lost=$((lost+1))
done <"$work/w.acks"
eq "every acknowledged create is in the store" "$lost" 0
stored=$(dbq "$db" "select count(*) from appointments where ident_system='urn:kill'" \
  "select count(*) from store_appointments where ident_system='urn:kill'")
[ "$stored" -le $((wacks + 1)) ] && ok || bad "$stored stored creates for $wacks acknowledged (more than the one in flight)"
changes=$(entries epj-hosp-0 pt-0)
[ "$changes" -ge "$wacks" ] && ok || bad "$wacks acknowledged creates but $changes data-change log entries"

# restart on the same database: it serves, logs, and verifies
: >"$work/out.txt"
start
[ -n "$addr" ] && ok || { bad "server did not restart"; tail -5 "$work/err.txt"; }
if [ -n "$addr" ]; then
  before=$(entries "${actor[0]}" pt-0)
  tok=$("$bin" token --db "$db" --kind professional --sub "${actor[0]}" --site "$(field pt-0 gp)")
  c=$(curl -s -o "$work/a.body" -w '%{http_code}' -H "Authorization: Bearer $tok" "$addr/fhir/Appointment?patient=Patient/pt-0")
  eq "after restart: a search answers 200" "$c" 200
  eq "after restart: the created appointments are shown" \
     "$(jq '[.entry[]? | select(.search.mode=="match")] | length >= 1' "$work/a.body")" true
  eq "after restart: the search is logged" "$(entries "${actor[0]}" pt-0)" $((before + 1))
  kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
  eq "after restart: SIGTERM exits 0" "$rc" 0
  out=$("$bin" log verify --db "$db" 2>&1); rc=$?
  eq "log verify after the restart" "$rc" 0
fi

the_end
