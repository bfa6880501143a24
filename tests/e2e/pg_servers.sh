#!/usr/bin/env bash
# Several servers, one truth, end to end (issue 18; R-SCALE-1, R-BLK-1, R-BLK-5, R-LOG-1):
# two `overblik serve` on one throwaway PostgreSQL 15 (scripts/pg/throwaway.sh), haproxy in
# front of them, as an operator runs them (docs/operations.md "On PostgreSQL").
# - The data is loaded into PostgreSQL with `overblik load`; both servers answer from it.
# - A patient blocks a hospital unit on one server and lifts it on the other, round after
#   round; right after each answer the GP asks the *other* server for the patient's
#   overview: after a block's 201 the unit's items never come back (0 stale reads), after a
#   lift's 200 they do.
# - A server is killed (SIGKILL): haproxy sends everything to the other, which keeps
#   answering and taking changes (the first one waits out the dead server's lease).
# - The dead server restarts and answers with every change made while it was down.
# - The patient's access log on either server holds what both did (R-LOG-3).
# - The operator's commands on PostgreSQL (block create/list, log show, people list) while
#   the servers run: a block made by the command is enforced by both when it returns.
# - A cluster release on PostgreSQL is the one a SQLite server makes of the same data (but
#   its id and log entry), and the patient it counted sees it in $uses on the other server.
# - The access log both servers wrote verifies (`log verify`) against the public key.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need psql jq curl haproxy
. "$(dirname "$0")/pg_lib.bash"
pg_two_servers
# haproxy in front of both, health-checked on /healthz
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hp=$(port) hs=$(port)
cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 2s
  retries 3
  option redispatch
listen stats
  bind 127.0.0.1:$hs
  stats enable
  stats uri /stats
frontend fe
  bind 127.0.0.1:$hp
  default_backend overblik
backend overblik
  balance roundrobin
  option httpchk GET /healthz
  server a ${addr_a#http://} check inter 300 fall 3 rise 2
  server b ${addr_b#http://} check inter 300 fall 3 rise 2
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=("$!")
front=http://127.0.0.1:$hp
# up_in_haproxy N: waits (10 s at most) until haproxy counts N servers up
up_in_haproxy() {
  local _
  for _ in $(seq 1 200); do
    [ "$(curl -s "http://127.0.0.1:$hs/stats;csv" | awk -F, '$1 == "overblik" && $2 != "BACKEND" && $18 ~ /^UP/' | wc -l)" -eq "$1" ] && return 0
    sleep 0.1
  done
  echo "# haproxy's view: $(curl -s "http://127.0.0.1:$hs/stats;csv" | awk -F, '$1 == "overblik" {printf "%s %s %s; ", $2, $18, $37}')"
  return 1
}
up_in_haproxy 2 && ok || bad "haproxy sees both servers up"

# a patient with items from the GP and from one hospital unit
read -r pid unit < <(jq -r 'select(.type=="item") | [.patient, .origin] | @tsv' "$nd" | sort -u |
  awk '{o[$1] = o[$1] " " $2} END {for (p in o) print p, o[p]}' | sort |
  awk '/ gp-/ && / hosp-/ {for (i = 2; i <= NF; i++) if ($i ~ /^hosp-/) {print $1, $i; exit}}')
[ -n "$pid" ] || { echo "no patient with GP and hospital items in the generated data"; exit 1; }
cpr=$(jq -r --arg p "$pid" 'select(.type=="patient" and .id==$p) | .cpr' "$nd")
gp=$(jq -r --arg p "$pid" 'select(.type=="patient" and .id==$p) | .gp' "$nd")
tok() { "$bin" token --db "$work/k.db" "$@"; } # one write per token: a fresh one each time
dr=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
consent() { # consent STATUS [ID]
  jq -cn --arg p "Patient/$pid" --arg u "Organization/$unit" --arg s "$1" --arg id "${2:-}" '
    {resourceType: "Consent", status: $s,
     scope: {coding: [{system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy"}]},
     category: [{coding: [{system: "http://loinc.org", code: "59284-0"}]}],
     patient: {reference: $p},
     provision: {type: "deny", actor: [{role: {coding: [{system:
       "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP"}]},
       reference: {reference: $u}}]}} + (if $id != "" then {id: $id} else {} end)'
}
# unit_items BASE: how many of the unit's items the GP's overview shows
unit_items() {
  curl -s -o "$work/ov.json" -X POST -H "Authorization: Bearer $dr" -H 'Content-Type: application/fhir+json' \
    "$1/fhir/Patient/\$overview" --data-binary \
    '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/'"$pid"'"}}]}'
  jq --arg u "Organization/$unit" '[.. | objects | select(.reference? == $u)] | length' "$work/ov.json" 2>/dev/null
}
[ "$(unit_items "$addr_a")" -gt 0 ] && [ "$(unit_items "$addr_b")" -gt 0 ] && ok ||
  bad "both servers show the unit's items before any block"

blocks0=$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")
rounds=${OB_PG_ROUNDS:-40}
stale=0 unlifted=0 failed=0
t0=$(date +%s%N)
for i in $(seq 1 "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then w=$addr_a r=$addr_b; else w=$addr_b r=$addr_a; fi
  code=$(curl -s -o "$work/c.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")" \
    -H 'Content-Type: application/fhir+json' "$w/fhir/Consent" --data-binary "$(consent active)")
  [ "$code" = 201 ] || { failed=$((failed + 1)); echo "round $i: block answered $code: $(head -c 300 "$work/c.json")"; continue; }
  id=$(jq -r .id "$work/c.json")
  [ "$(unit_items "$r")" = 0 ] || stale=$((stale + 1))
  code=$(curl -s -o "$work/l.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")" \
    -H 'Content-Type: application/fhir+json' "$r/fhir/Consent/$id" --data-binary "$(consent inactive "$id")")
  [ "$code" = 200 ] || { failed=$((failed + 1)); echo "round $i: lift answered $code: $(head -c 300 "$work/l.json")"; continue; }
  [ "$(unit_items "$w")" -gt 0 ] || unlifted=$((unlifted + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# $rounds rounds of block on one server, read on the other, lift there, read on the first: $ms ms"
eq "every block and lift answered" "$failed" 0
eq "reads on the other server right after a block's 201 that showed the unit (R-BLK-1)" "$stale" 0
eq "reads on the other server right after a lift's 200 that still withheld the unit (R-BLK-5)" "$unlifted" 0

# the patient's access log (R-LOG-3) on either server holds what both servers did
cit=$(tok --kind citizen --cpr "$cpr")
for x in a b; do
  v=addr_$x
  code=$(curl -s -o "$work/ae.json" -w '%{http_code}' -H "Authorization: Bearer $cit" "${!v}/fhir/AuditEvent?_count=500")
  eq "the patient's log on server $x: 200" "$code" 200
  n=$(jq '[.entry[]?.resource | select(tostring | test("'"$gp"'-dr0"))] | length' "$work/ae.json")
  [ "$n" -ge $((2 * rounds)) ] && ok || bad "the patient's log on $x shows $n of the GP's $((2 * rounds)) reads on both servers"
done

# A server that falls behind: another session holds b's lease row for 3 s, so b's sync
# thread (renewing, then fetching) stands still and hears of no change. A block on a is
# acknowledged only once b's lease has run out, and b answers nothing until it has the
# block: a read on b right after the 201 is a 503 or withholds the unit, never shows it.
# (Without the acknowledgement's wait, a acknowledges at once and b shows the unit.)
sql "SELECT 1" >/dev/null
psql -X -q "$ci" -c "BEGIN; SELECT 1 FROM sync_lease WHERE id = 'b' FOR UPDATE; SELECT pg_sleep(3); COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 1 # b tries to renew within a third of its lease, and waits
t0=$(date +%s%N)
code=$(curl -s -o "$work/c.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")"   -H 'Content-Type: application/fhir+json' "$addr_a/fhir/Consent" --data-binary "$(consent active)")
ms=$((($(date +%s%N) - t0) / 1000000))
eq "a block while b is stuck: 201" "$code" 201
read_b=$(curl -s -o "$work/r.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $dr" \
  -H 'Content-Type: application/fhir+json' "$addr_b/fhir/Patient/\$overview" --data-binary \
  '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/'"$pid"'"}}]}')
shown=$(jq --arg u "Organization/$unit" '[.. | objects | select(.reference? == $u)] | length' "$work/r.json" 2>/dev/null)
echo "# block acknowledged after ${ms} ms with b stuck; b then answered $read_b"
[ "$read_b" = 503 ] || [ "$shown" = 0 ] && ok || bad "b showed the blocked unit after the block's 201 (answer $read_b)"
wait "$holder"
id=$(jq -r .id "$work/c.json")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")" \
  -H 'Content-Type: application/fhir+json' "$addr_a/fhir/Consent/$id" --data-binary "$(consent inactive "$id")")
eq "... lifted again: 200" "$code" 200
for _ in $(seq 1 30); do curl -sf "$addr_b/healthz" >/dev/null && break; sleep 0.1; done
[ "$(unit_items "$addr_b")" -gt 0 ] && ok || bad "b answers again, with the lift, once it caught up"

# kill a server: the other keeps answering, through haproxy, and takes changes
up_in_haproxy 2 && ok || bad "haproxy sees both servers up again"
kill -9 "$pid_a"; wait "$pid_a" 2>/dev/null
t0=$(date +%s%N)
code=$(curl -s -o "$work/c.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")" \
  -H 'Content-Type: application/fhir+json' "$front/fhir/Consent" --data-binary "$(consent active)")
ms=$((($(date +%s%N) - t0) / 1000000))
eq "with a server killed, a block through haproxy: 201" "$code" 201
echo "# the first change after a server was killed: $ms ms (it waits out the dead server's lease)"
id=$(jq -r .id "$work/c.json")
good=0
for _ in $(seq 1 10); do
  n=$(unit_items "$front")
  [ "$n" = 0 ] && good=$((good + 1))
  [ "$n" = 0 ] || echo "# a read through haproxy: $(head -c 300 "$work/ov.json")"
done
eq "... and every read through haproxy withholds the unit" "$good" 10
# the dead server comes back: it answers with every change made while it was down
start a2
[ -n "$addr_a2" ] && ok || bad "the server did not restart"
eq "the restarted server withholds the unit blocked while it was down" "$(unit_items "$addr_a2")" 0
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $(tok --kind citizen --cpr "$cpr")" \
  -H 'Content-Type: application/fhir+json' "$addr_a2/fhir/Consent/$id" --data-binary "$(consent inactive "$id")")
eq "... and lifts it" "$code" 200
[ "$(unit_items "$addr_b")" -gt 0 ] && ok || bad "the other server shows the unit after the lift"

# the cluster statistics on PostgreSQL: the release a SQLite server makes of the same data
# with the same keys, but for its id and log entry; the patient sees it in $uses on the
# other server
coord=$(jq -r 'select(.type=="cluster") | .coordinators[0]' "$nd" | head -1)
cl=$(jq -r --arg c "$coord" 'select(.type=="cluster" and .coordinators[0]==$c) | .id' "$nd" | head -1)
csite=$(jq -r --arg c "$coord" 'select(.type=="professional" and .id==$c) | .sites[0]' "$nd")
sreq='{"cluster":"'"$cl"'","code":"T90","from":"2025-11-01","to":"2026-11-01","report_date":"2026-11-01","format":"json"}'
stats() { curl -s -o "$2" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $(tok --kind professional --sub "$coord" --site "$csite")" \
  -H "Content-Type: application/json" "$1/api/stats/cluster" --data-binary "$sreq"; }
eq "statistics on PostgreSQL: 200" "$(stats "$addr_b" "$work/st.json")" 200
eq "... the audit passed" "$(jq -r .audit.passed "$work/st.json")" true
hasnt "... nothing about the URI" "$(cat "$work/st.json")" "$work/pg"
mkdir "$work/sq" && cp "$work"/k0/k.* "$work/sq/" && "$bin" load --db "$work/sq/k.db" "$nd" >/dev/null 2>&1 &&
  ok || bad "the same data into SQLite"
serve_bg sq_pid sq_addr "$work/sq.out" "$work/sq.err" --db "$work/sq/k.db" --jwks "$work/k.jwks.json" \
  --listen 127.0.0.1:0 --threads 2
pids+=("$sq_pid")
eq "the same release on SQLite: 200" "$(stats "$sq_addr" "$work/sq.json")" 200
kill "$sq_pid"
shown() { jq -S 'del(.release.id, .release.log_seq)' "$1"; }
eq "... PostgreSQL answered as SQLite (but the release's id and log entry)" \
  "$(shown "$work/st.json")" "$(shown "$work/sq.json")"
eq "... recorded once, with its published table" \
  "$(sql "SELECT count(*) FROM stats_release r JOIN stats_published p ON p.release = r.id")" 1
n=$(sql "SELECT min(patient) FROM stats_release_patient")
who="pt-$n" # the generator's patients are the index's in order
wcpr=$(jq -r --arg p "$who" 'select(.type=="patient" and .id==$p) | .cpr' "$nd")
code=$(curl -s -o "$work/u.json" -w '%{http_code}' -H "Authorization: Bearer $(tok --kind citizen --cpr "$wcpr")" \
  "$addr_a2/fhir/Patient/$who/\$uses")
eq "the patient's \$uses on the other server: 200" "$code" 200
eq "... names the release that counted them" "$(jq -r '[.parameter[]? | [.part[] | {(.name): (.valueString // .valueCode)}] | add | select(.kind == "statistics")][0].recipient' "$work/u.json")" "$cl"

# the operator's commands on PostgreSQL, while the servers run: the command is one more
# writer in the order, so a block it makes is enforced by both servers when it returns
out=$("$bin" block create --db "$uri" --keys "$work/k.key" --patient "$pid" --kind site --target "$unit" 2>&1)
eq "block create on PostgreSQL while two servers run: exit 0" "$?" 0
eq "... enforced by server a at once" "$(unit_items "$addr_a2")" 0
eq "... and by server b" "$(unit_items "$addr_b")" 0
out=$("$bin" block list --db "$uri" --keys "$work/k.key" --patient "$pid" 2>&1)
has "block list on PostgreSQL shows it, in force" "$(sed -n 2p <<<"$out")" "active"
out=$("$bin" log show --db "$uri" --patient "$pid" 2>&1)
eq "log show on PostgreSQL: exit 0" "$?" 0
[ "$(grep -c ' overview ' <<<"$out")" -ge $((2 * rounds)) ] && ok ||
  bad "log show on PostgreSQL lists $(grep -c ' overview ' <<<"$out") of the GP's $((2 * rounds)) overview reads"
out=$("$bin" people list --db "$uri" --keys "$work/k.key" --limit 3 2>&1)
eq "people list on PostgreSQL: exit 0" "$?" 0
hasnt "no command prints the URI" "$out" "$work/pg"

# what both servers logged verifies, with the log's public key
out=$("$bin" log verify --db "$uri" --key "$work/k.log-pub" 2>&1)
eq "log verify of what both servers wrote: exit 0" "$?" 0
has "... on PostgreSQL" "$out" "(PostgreSQL)"
blocks=$(sql "SELECT count(*) FROM store_records WHERE type = 'block'")
eq "every acknowledged block is stored once" "$blocks" $((blocks0 + rounds - failed + 3))
the_end
