#!/usr/bin/env bash
# Crash test for transaction Bundles (issue 20, R-LOG-1): "a transaction Bundle of 1,000
# mixed resources from one source commits atomically or not at all, even when the server
# is killed (SIGKILL) in the middle". A generated world (300 patients) on a real
# `overblik serve`; the hospital's source system epj-hosp-0 sends transaction Bundles of
# exactly 1,000 entries (MedicationStatement POSTs, Appointment conditional PUTs,
# Immunization POSTs over ten patients), each Bundle with identifiers of its own (T<k>-...).
# - One Bundle sent normally: 200, a transaction-response of 1,000 entries, 1,000 more rows
#   (items + appointments) and 1,000 more log entries.
# - Then ten rounds: a Bundle in flight, the server killed with SIGKILL after a delay: the
#   first at once, the last well after the answer, the eight between steered towards the
#   moment the server commits (shorter after an answer, longer after a kill before the
#   commit), so that they kill it while it reads, checks or stores the Bundle, on both
#   sides of the commit. After each kill, for that Bundle: its
#   item_keys rows, items rows and appointments rows are all there or none is (never in
#   between), and its log entries are 1,000 or 0 accordingly (no change without its log
#   entry, no log entry without its change); a 200 means all of it is stored (an
#   acknowledged transaction is durable). A restarted server serves (/healthz), sees the
#   same counts, and a Bundle that was not stored goes in whole when the source sends it
#   again.
# - At the end `overblik log verify` passes and the totals are exactly the stored Bundles.
# Prints what each round saw, then "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need curl jq sqlite3 awk
work=$(mktemp -d)
srv=""; cpid=""
cleanup() {
  [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
# N entries per Bundle: entry i is a MedicationStatement when i%3==1, an Appointment when
# i%3==2, else an Immunization; NITEM of them are items (item_keys and items rows)
N=1000
NMED=$(( (N + 2) / 3 )); NAPT=$(( (N + 1) / 3 )); NIMM=$(( N / 3 ))
NITEM=$((NMED + NIMM))

db="$work/b.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 300 --seed 5 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/b.ndjson" --patients 300 --seed 5 >/dev/null 2>&1
cprs=""
for i in $(seq 0 9); do
  c=$(grep -m1 "\"id\":\"pt-$i\"" "$work/b.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4 | tr -d -)
  [ ${#c} = 10 ] || { echo "no CPR number for pt-$i"; exit 1; }
  cprs="$cprs${cprs:+,}$c"
done

# bundle K: writes the transaction Bundle with identifiers T<K>-M-i, T<K>-A-i, T<K>-V-i to
# $work/b<K>.json (entry i for patient number i % 10)
bundle() {
  awk -v k="$1" -v n="$N" -v cprs="$cprs" 'BEGIN {
    np = split(cprs, c, ",")
    pt = "{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"%s\"}}"
    med = "{\"request\":{\"method\":\"POST\",\"url\":\"MedicationStatement\"},\"resource\":" \
          "{\"resourceType\":\"MedicationStatement\",\"identifier\":[{\"system\":\"urn:h0:med\"," \
          "\"value\":\"T%d-M-%d\"}],\"status\":\"active\",\"medicationCodeableConcept\":" \
          "{\"coding\":[{\"system\":\"http://www.whocc.no/atc\",\"code\":\"C09AA05\"}]}," \
          "\"subject\":" pt ",\"effectiveDateTime\":\"2026-01-05T00:00:00Z\"}}"
    apt = "{\"request\":{\"method\":\"PUT\",\"url\":\"Appointment?identifier=urn:h0:booking%%7C" \
          "T%d-A-%d\"},\"resource\":{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":" \
          "\"urn:h0:booking\",\"value\":\"T%d-A-%d\"}],\"status\":\"booked\",\"start\":" \
          "\"2027-01-10T09:00:00Z\",\"participant\":[{\"actor\":" pt ",\"status\":\"accepted\"}]}}"
    imm = "{\"request\":{\"method\":\"POST\",\"url\":\"Immunization\"},\"resource\":" \
          "{\"resourceType\":\"Immunization\",\"identifier\":[{\"system\":\"urn:h0:vac\"," \
          "\"value\":\"T%d-V-%d\"}],\"status\":\"completed\",\"vaccineCode\":{\"coding\":" \
          "[{\"system\":\"http://www.whocc.no/atc\",\"code\":\"J07BB02\"}]},\"patient\":" pt \
          ",\"occurrenceDateTime\":\"2026-10-01T10:00:00Z\"}}"
    printf "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    for (i = 1; i <= n; i++) {
      p = c[(i % np) + 1]
      if (i > 1) printf ","
      if (i % 3 == 1) printf med, k, i, p
      else if (i % 3 == 2) printf apt, k, i, k, i, p
      else printf imm, k, i, p
    }
    printf "]}\n"
  }' >"$work/b$1.json"
}

# stored K: "<item_keys> <items> <appointments> <log entries> <permitted log entries>" of
# Bundle K: the rows asked of the database (either backend, dbq), the log's entries by the
# source read through `log show --actor` (the same view on both)
stored() {
  local rows
  rows=$(dbq "$db" "select
    (select count(*) from item_keys where source='epj-hosp-0' and ident_value glob 'T$1-*'),
    (select count(*) from items where instr(json, '\"T$1-') > 0),
    (select count(*) from appointments where source='epj-hosp-0' and ident_value glob 'T$1-*')" \
    "select
    (select count(*) from store_item_keys where source='epj-hosp-0' and ident_value like 'T$1-%'),
    (select count(*) from store_items where strpos(json, '\"T$1-') > 0),
    (select count(*) from store_appointments where source='epj-hosp-0' and ident_value like 'T$1-%')")
  printf '%s %s\n' "$(tr '|' ' ' <<<"$rows")" "$(src_log | jq -rs --arg k "identifier=T$1-" '
    map(select(.resource | contains($k))) | "\(length) \(map(select(.decision == "permit")) | length)"')"
}
src_log() { "$bin" log show --db "$db" --actor epj-hosp-0 --json; } # the source's entries
rows() {
  dbq "$db" "select (select count(*) from items) + (select count(*) from appointments)" \
    "select (select count(*) from store_items) + (select count(*) from store_appointments)"
}
logn() { dbq "$db" "select count(*) from log_entries" "select count(*) from log_pg_entry"; }

start() { # start: the server on $db; sets $srv and $addr
  serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
}
# send K: POSTs Bundle K with the token $tok (one write per token: next_token mints the
# next one, before a round's curl starts); the HTTP code goes to $work/c<K>, curl's exit
# status to $work/x<K>, the body to $work/r<K>.json, the seconds it took to $work/t<K>
send() {
  local k=$1
  curl -s --max-time 60 -o "$work/r$k.json" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $tok" -H "Content-Type: application/fhir+json" \
    --data-binary @"$work/b$k.json" "$addr/fhir" >"$work/w$k" 2>/dev/null
  echo $? >"$work/x$k"
  cut -d' ' -f1 <"$work/w$k" >"$work/c$k"; cut -d' ' -f2 <"$work/w$k" >"$work/t$k"
}
next_token() { tok=$(fresh "$sys"); }
# full K: checks that Bundle K was answered 200 with 1,000 entries and is stored whole
full() {
  local k=$1 what=$2
  eq "$what: Bundle T$k answered 200" "$(cat "$work/c$k")" 200
  eq "$what: a transaction-response of $N entries" \
    "$(jq -r '"\(.type) \(.entry | length)"' "$work/r$k.json" 2>/dev/null)" "transaction-response $N"
  eq "$what: Bundle T$k stored whole with one log entry per write" "$(stored "$k")" \
    "$NITEM $NITEM $NAPT $N $N"
}

start
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; the_end; exit 1; }
sys=$(mint "$db" --ttl 600 --kind system --client-id epj-hosp-0 --site hosp-0)
tok=$sys

# the Bundles: 1 sent normally, 2.. killed in flight, each under the 1 MiB body limit
ROUNDS=10
K=$((ROUNDS + 1))
for k in $(seq 1 "$K"); do
  bundle "$k"
  sz=$(wc -c <"$work/b$k.json")
  [ "$sz" -lt 1048576 ] && ok || bad "Bundle T$k is $sz bytes, over the 1 MiB limit"
done
eq "Bundle T1 has $N entries" "$(jq '.entry | length' "$work/b1.json")" "$N"
eq "... mixed: MedicationStatement, Appointment, Immunization" \
  "$(jq -c '[.entry[].resource.resourceType] | group_by(.) | map([.[0], length])' "$work/b1.json")" \
  "[[\"Appointment\",$NAPT],[\"Immunization\",$NIMM],[\"MedicationStatement\",$NMED]]"

# 1. one Bundle, no kill
rows0=$(rows); log0=$(logn)
send 1
full 1 "normal"
eq "rows (items + appointments) went up by exactly $N" $(( $(rows) - rows0 )) "$N"
[ $(( $(logn) - log0 )) -ge "$N" ] && ok || bad "log entries went up by $(( $(logn) - log0 )), under $N"
ms=$(awk -v t="$(cat "$work/t1")" 'BEGIN { m = int(t * 1000); print (m < 20 ? 20 : m) }')
echo "bundle_kill.sh: Bundle T1 ($(wc -c <"$work/b1.json") bytes, $N entries) took $(cat "$work/t1") s"
committed=1 # Bundles stored whole

# 2. rounds: Bundle k in flight, SIGKILL after a delay, check, restart, send again if lost
inflight=0; lost=0; kept=0; answered=0; between=0
dms=$((ms / 2)) # the delay (ms) of the steered rounds
for r in $(seq 0 $((ROUNDS - 1))); do
  k=$((r + 2))
  case $r in
    0) d=0 ;;
    $((ROUNDS - 1))) d=$(awk -v m="$ms" 'BEGIN { printf "%.3f", (m < 100 ? 300 : 3 * m) / 1000 }') ;;
    *) d=$(awk -v m="$dms" 'BEGIN { printf "%.3f", m / 1000 }') ;;
  esac
  next_token
  send "$k" &
  cpid=$!
  sleep "$d"
  kill -9 "$srv"; wait "$srv" 2>/dev/null; srv=""
  wait "$cpid"; cpid=""
  code=$(cat "$work/c$k"); x=$(cat "$work/x$k")
  read -r keys items apts logs permits <<<"$(stored "$k")"
  case "$code/$x" in
    200/0) what="answered 200 before the kill"; answered=$((answered + 1)); f=6 ;;
    000/7) what="not connected (killed before curl connected)"; f=15 ;;
    000/*) what="killed in flight (no answer, curl exit $x)"; inflight=$((inflight + 1))
      if [ "$keys" = 0 ]; then f=12; else f=9; between=$((between + 1)); fi ;;
    *) what="answered $code (curl exit $x)"; f=10 ;;
  esac
  # steer: sooner after an answer, later after a kill before the commit or the connection
  [ "$r" -gt 0 ] && dms=$((dms * f / 10 + 2))
  if [ "$keys" = 0 ]; then st="nothing stored"; else st="stored"; fi
  printf 'bundle_kill.sh: round %d: SIGKILL after %s s: %s; %s (item_keys %s, items %s, appointments %s, log entries %s)\n' \
    "$((r + 1))" "$d" "$what" "$st" "$keys" "$items" "$apts" "$logs"
  # all or nothing, rows and log entries together
  case "$keys $items $apts $logs $permits" in
    "0 0 0 0 0") ok; lost=$((lost + 1)) ;;
    "$NITEM $NITEM $NAPT $N $N") ok; kept=$((kept + 1)); committed=$((committed + 1)) ;;
    *) bad "round $((r + 1)): Bundle T$k partly stored: item_keys $keys/$NITEM, items $items/$NITEM," \
         "appointments $apts/$NAPT, log entries $logs/$N ($permits permitted)" ;;
  esac
  # an acknowledged transaction is durable
  [ "$code" = 200 ] && full "$k" "round $((r + 1)): acknowledged"
  # a restarted server serves and sees the same
  start
  [ -n "$addr" ] && ok || { bad "round $((r + 1)): server did not restart"; tail -5 "$work/err.txt"; break; }
  eq "round $((r + 1)): /healthz after the restart" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$addr/healthz")" 200
  eq "round $((r + 1)): the restarted server keeps Bundle T$k as it was" "$(stored "$k")" \
    "$keys $items $apts $logs $permits"
  # the source sends a Bundle that was not stored again: it goes in whole
  if [ "$keys" = 0 ] && [ "$logs" = 0 ]; then
    next_token
    send "$k"
    full "$k" "round $((r + 1)): sent again"
    [ "$(cat "$work/c$k")" = 200 ] && committed=$((committed + 1))
  fi
done
echo "bundle_kill.sh: $inflight rounds killed a Bundle in flight ($between of them after its commit," \
  "before the answer), $answered answered before the kill; $kept stored and $lost not stored at the kill"
[ "$inflight" -ge 1 ] && ok || bad "no round killed the server with a Bundle in flight"

# 3. the log verifies; the totals are exactly the stored Bundles
eq "rows: exactly $committed Bundles of $N" $(( $(rows) - rows0 )) $(( committed * N ))
eq "log entries of the Bundles: exactly $committed x $N" \
  "$(src_log | jq -s 'map(select(.resource | test("identifier=T[0-9]+-"))) | length')" \
  $(( committed * N ))
eq "item_keys of the Bundles: exactly $committed x $NITEM" \
  "$(dbq "$db" "select count(*) from item_keys where ident_value glob 'T[0-9]*-*'" \
    "select count(*) from store_item_keys where ident_value ~ '^T[0-9]+-'")" \
  $(( committed * NITEM ))
if [ -n "$srv" ]; then
  kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
  eq "SIGTERM exits 0" "$rc" 0
fi
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after the kills" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | tail -3
the_end
