#!/usr/bin/env bash
# The failover with the real product (issue 18; R-SCALE-1, R-BLK-1, R-BLK-5, R-LOG-1;
# docs/failover.md "With overblik's servers"): the loopback Patroni cluster of
# scripts/pg/cluster.sh (three PostgreSQL 15 nodes, synchronous replication, etcd, haproxy),
# the generated data loaded with `overblik load`, two `overblik serve` on it and an HTTP
# haproxy in front of them, health-checked on /healthz as docs/operations.md says. Server a
# reaches the database through the cluster's haproxy port, server b through the multi-host
# libpq URI with target_session_attrs=read-write: the two ways docs/operations.md gives, one
# each.
# Clients over HTTP through the front haproxy (tests/e2e/pg_http_load.py), all the time:
#   - two patients block a hospital unit (POST /fhir/Consent) and lift the block (PUT),
#     over and over, one pre-minted token per write, noting every acknowledged change;
#   - two GPs' clients read those patients' overviews (POST /fhir/Patient/$overview) on
#     whichever server haproxy picks, noting when each read began and whether it showed the
#     unit;
#   - a GP reads the patients (GET /fhir/Patient/<id>): logged reads.
# Meanwhile the primary's machine dies KILLS times (default 5: Patroni and the postmaster's
# process group, SIGKILL), the dead member rejoining before the next, and once a server is
# SIGKILLed and started again. After each: a new leader, both servers healthy again
# (following the new primary), every client served again. At the end:
#   - every acknowledged block and lift is in store_records (none lost);
#   - no overview that began after a block's 201 and before its lift was sent showed the
#     unit (0 stale reads);
#   - the access log verifies (`overblik log verify --db URI --key k.log-pub`) and grew by at
#     least as many entries as requests that log were answered 200/201;
#   - no answer was a 500; each server answers on its own with the last state;
#   - the time without service per kill, from the clients' view, is printed as "# ..." lines.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=$root/scripts/pg/cluster.sh
client=$root/tests/e2e/pg_http_load.py

# The suite runs tests/e2e on the release and the ASan build. The servers' code on
# PostgreSQL runs under ASan in pg_servers.sh; here the sanitizer run would repeat three
# minutes of failovers, slower: it passes there without running (KILLS=N runs it anyway).
case ${OB_BIN:-} in
  *build-asan*)
    if [ -z "${KILLS:-}" ]; then
      echo "pg_failover_http.sh: skipped under the ASan build (pg_servers.sh runs the servers there)"
      the_end
      exit
    fi
    ;;
esac
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
need patroni etcd haproxy psql jq curl python3
py=python3

t0=$SECONDS
work=$(mktemp -d /tmp/obpgfo.XXXXXX)
chmod 755 "$work"
db=$(mktemp -d) # the cluster's directory (cluster.sh gives it to the postgres user)
pids=()         # servers and the front haproxy
clients=()
cleanup() {
  local p
  for p in "${clients[@]}" "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${clients[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null; done
  bash "$cluster" stop "$db" >/dev/null 2>&1
  # OB_KEEP=DIR: a copy of the clients' files and the servers' output, for a failure's study
  [ -z "${OB_KEEP:-}" ] || { rm -rf "$OB_KEEP" && cp -a "$work" "$OB_KEEP"; }
  rm -rf "$work" "$db"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
logs() {
  local f
  for f in "$db"/n*/patroni.log "$work"/*.err "$work"/haproxy.log; do
    [ -f "$f" ] && { echo "--- $f (last 15 lines)"; tail -n 15 "$f"; }
  done
}
fatal() { bad "$*"; logs; the_end; exit 1; }
# free_ports N: N distinct loopback ports nobody listens on now
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# --- keys, data and tokens, before the cluster (minting spawns a process per token)
"$bin" init --db "$work/k.db" >/dev/null || fatal "overblik init"
nd=$work/d.ndjson
"$bin" gen --out "$nd" --patients 300 --seed 7 >/dev/null 2>&1 || fatal "overblik gen"
# a GP with two listed patients who have items from the GP and from a hospital unit: the
# patients and their units (the writers), the GP (the readers)
read -r gp p1 u1 p2 u2 < <(jq -r 'select(.type=="item") | [.patient, .origin] | @tsv' "$nd" | sort -u |
  awk '{o[$1] = o[$1] " " $2} END {for (p in o) print p, o[p]}' | sort |
  awk '/ gp-/ && / hosp-/ {for (i = 2; i <= NF; i++) if ($i ~ /^hosp-/) {print $1, $i; break}}' |
  while read -r p u; do echo "$(jq -r --arg p "$p" 'select(.type=="patient" and .id==$p) | .gp' "$nd") $p $u"; done |
  awk '{n[$1]++; s[$1] = s[$1] " " $2 " " $3} n[$1] == 2 {print $1 s[$1]; exit}')
[ -n "${p2:-}" ] || fatal "no GP with two patients with GP and hospital items in the generated data"
cpr() { jq -r --arg p "$1" 'select(.type=="patient" and .id==$p) | .cpr' "$nd"; }
tok() { "$bin" token --db "$work/k.db" "$@"; }
ntok=${OB_TOKENS:-1500} # per writer: one per write (docs/api.md, one write per token)
for p in "$p1" "$p2"; do
  c=$(cpr "$p")
  # shellcheck disable=SC2016 # sh's own: the binary, the database, the CPR, then a count
  seq 1 "$ntok" | xargs -P 2 -n 100 sh -c 'b=$0 d=$1 c=$2; shift 2
    for _ in "$@"; do "$b" token --db "$d" --kind citizen --cpr "$c"; done' \
    "$bin" "$work/k.db" "$c" >"$work/tokens-$p" &
  clients+=($!)
done
dr=$(tok --kind professional --sub "$gp-dr0" --site "$gp")
cit1=$(tok --kind citizen --cpr "$(cpr "$p1")")
cit2=$(tok --kind citizen --cpr "$(cpr "$p2")")

# --- the cluster, the data, the servers
bash "$cluster" start "$db" >"$work/start.out" 2>&1 || { cat "$work/start.out"; fatal "cluster start"; }
ok
echo "# cluster ready in $((SECONDS - t0)) s"
# shellcheck source=/dev/null # the ports: PG_1..3, API_1..3, HAPROXY_PORT, ETCD_PORT
. "$db/cluster.env"
uri=$(bash "$cluster" uri "$db")
uri_hp="postgresql://postgres@127.0.0.1:$HAPROXY_PORT/postgres?connect_timeout=2&passfile=$db/pgpass"
ci="host=127.0.0.1 port=$HAPROXY_PORT user=postgres dbname=postgres connect_timeout=2 passfile=$db/pgpass"
sql() { PGCONNECT_TIMEOUT=3 psql "$ci" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
out=$("$bin" load --db "$uri" --keys "$work/k.key" "$nd" 2>&1)
eq "overblik load into the cluster" "$?" 0
hasnt "... never prints the URI's password file" "$out" "$db"
for p in "${clients[@]}"; do wait "$p"; done # the tokens
clients=()
eq "tokens minted" "$(cat "$work/tokens-$p1" "$work/tokens-$p2" | grep -c .)" $((2 * ntok))

declare -A sport surl
read -r pa pb hp hs < <(free_ports 4) # the servers' (the same after a restart), the front's, its stats'
sport[a]=$pa sport[b]=$pb
surl[a]=$uri_hp surl[b]=$uri
start() { # start NAME: server NAME on its port, on its way to the database
  local p a
  serve_bg p a "$work/$1.out" "$work/$1.err" --db "${surl[$1]}" --keys "$work/k.key" \
    --jwks "$work/k.jwks.json" --listen "127.0.0.1:${sport[$1]}" --threads 2 --server-id "$1"
  pids+=("$p")
  printf -v "pid_$1" %s "$p"
  [ -n "$a" ]
}
start a || fatal "server a did not start: $(cat "$work/a.err")"
start b || fatal "server b did not start: $(cat "$work/b.err")"
ok
cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
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
  http-response set-header X-Served-By %s
  server a 127.0.0.1:${sport[a]} check inter 200 fall 2 rise 2
  server b 127.0.0.1:${sport[b]} check inter 200 fall 2 rise 2
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=("$!")
front=http://127.0.0.1:$hp
# up_in_haproxy N [TRIES]: haproxy counts N servers up (TRIES tenths of a second at most;
# "UP 1/2", one failed check short of down, is up: haproxy sends it requests)
up_in_haproxy() {
  local _
  for _ in $(seq 1 "${2:-100}"); do
    [ "$(curl -s -m 2 "http://127.0.0.1:$hs/stats;csv" | awk -F, '$1 == "overblik" && $2 != "BACKEND" && $18 ~ /^UP/' | wc -l)" -eq "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
up_in_haproxy 2 200 || fatal "haproxy sees both servers up: $(curl -s "http://127.0.0.1:$hs/stats;csv" | grep '^overblik' | cut -d, -f1,2,18,37)"
ok
# shown BASE PATIENT UNIT: how many references to the unit the GP's overview holds
shown() {
  curl -s -m 10 -X POST -H "Authorization: Bearer $dr" -H 'Content-Type: application/fhir+json' \
    "$1/fhir/Patient/\$overview" --data-binary \
    '{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/'"$2"'"}}]}' |
    jq --arg u "Organization/$3" '[.. | objects | select(.reference? == $u)] | length'
}
for s in a b; do
  [ "$(shown "http://127.0.0.1:${sport[$s]}" "$p1" "$u1")" -gt 0 ] &&
    [ "$(shown "http://127.0.0.1:${sport[$s]}" "$p2" "$u2")" -gt 0 ] && ok ||
    bad "server $s shows both units before any block"
done

# --- the clients, through the front haproxy
seq0=$(sql "SELECT coalesce(max(seq), 0) FROM log_pg_entry") || fatal "the log's newest entry"
"$py" "$client" write "$front" "$p1" "$u1" "$work/tokens-$p1" "$cit1" "$work/w-$p1.out" 2>"$work/w1.err" &
clients+=($!)
"$py" "$client" write "$front" "$p2" "$u2" "$work/tokens-$p2" "$cit2" "$work/w-$p2.out" 2>"$work/w2.err" &
clients+=($!)
for i in 1 2; do
  "$py" "$client" overview "$front" "$dr" "$p1:$u1,$p2:$u2" "$work/o-$i.out" 2>"$work/o$i.err" &
  clients+=($!)
done
others=$(jq -r --arg g "$gp" 'select(.type=="patient" and .gp==$g) | .id' "$nd" | head -5 | paste -sd,)
"$py" "$client" read "$front" "$dr" "$others" "$work/r-1.out" 2>"$work/r1.err" &
clients+=($!)
outs=("$work/w-$p1.out" "$work/w-$p2.out" "$work/o-1.out" "$work/o-2.out" "$work/r-1.out")
# served_since T: how many of the clients have had a request answered well that began after T
served_since() {
  local f n=0
  for f in "$work"/w-*.out "$work"/o-*.out "$work"/r-*.out; do
    awk -v t="$1" '($1 == "B" && $4 == 201 || $1 == "L" && ($4 == 200 || $4 == 409) ||
      ($1 == "O" || $1 == "R" || $1 == "C") && $4 == 200) && $2 > t { f = 1; exit } END { exit !f }' "$f" 2>/dev/null &&
      n=$((n + 1))
  done
  echo "$n"
}
tstart=$(date +%s.%N)
for _ in $(seq 1 100); do [ "$(served_since 0)" -eq 5 ] && break; sleep 0.1; done
eq "every client is served before the failures" "$(served_since 0)" 5
sleep 2

events=$work/events
: >"$events"
# after KILL_TIME WHAT: waits (60 s at most) until every client was served again after the
# kill; true when they were
after() {
  local _
  for _ in $(seq 1 240); do
    [ "$(served_since "$1")" -eq 5 ] && return 0
    sleep 0.25
  done
  echo "# clients served after $2: $(served_since "$1") of 5"
  return 1
}
healthy() { # both servers answer /healthz 200 on their own (20 s at most)
  local _ s okn
  for _ in $(seq 1 80); do
    okn=0
    for s in a b; do
      [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${sport[$s]}/healthz")" = 200 ] && okn=$((okn + 1))
    done
    [ $okn -eq 2 ] && return 0
    sleep 0.25
  done
  for s in a b; do
    echo "# server $s: /healthz $(curl -s -m 2 -w ' %{http_code}' "http://127.0.0.1:${sport[$s]}/healthz")"
  done
  return 1
}

# --- the primary's machine dies KILLS times; once, between two of them, a server dies
kills=${KILLS:-5}
server_kill_after=$(((kills + 1) / 2))
for round in $(seq 1 "$kills"); do
  old="" pm=""
  for _ in $(seq 1 40); do
    read -r old pm < <(bash "$cluster" leader "$db" 2>/dev/null) && [ -n "$pm" ] && break
    sleep 0.5
  done
  { [ -n "${old:-}" ] && [ -n "${pm:-}" ]; } || fatal "kill $round: a leader with a postmaster"
  pp=$(head -1 "$db/$old/patroni.pid")
  pg=$(ps -o pgid= -p "$pm" | tr -d ' ')
  { [ -n "$pg" ] && [ "$pg" != "$(ps -o pgid= -p "$pp" | tr -d ' ')" ] &&
    [ "$pg" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; } ||
    fatal "the postmaster $pm has a process group of its own (got '$pg')"
  tkill=$(date +%s.%N)
  kill -KILL -- "$pp" "-$pg" || fatal "kill $old's Patroni and postmaster"
  echo "K $round $tkill primary-$old" >>"$events"
  echo "# kill $round: the primary $old (Patroni $pp, postmaster $pm and its backends)"
  new=""
  for _ in $(seq 1 120); do
    new=$(bash "$cluster" leader "$db" 2>/dev/null | cut -d' ' -f1)
    [ -n "$new" ] && [ "$new" != "$old" ] && break
    sleep 0.5
  done
  { [ -n "$new" ] && [ "$new" != "$old" ]; } || fatal "kill $round: a new leader is elected"
  after "$tkill" "kill $round" && ok || bad "kill $round: every client is served again"
  healthy && ok || bad "kill $round: both servers answer /healthz 200 again (they follow $new)"
  echo "# kill $round: $new leads; every client served again $(awk -v k="$tkill" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - k }') s after the kill"
  bash "$cluster" start "$db" >"$work/restart.out" 2>&1 || { cat "$work/restart.out"; fatal "kill $round: restart $old"; }
  eq "kill $round: $old rejoins as a replica" \
    "$(v=API_${old#n}; curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:${!v}/replica")" 200
  if [ "$round" -eq "$server_kill_after" ]; then
    # a server dies: haproxy sends everything to the other, which keeps serving
    sleep 1
    tkill=$(date +%s.%N)
    kill -KILL "$pid_a" # (set by start, printf -v)
    wait "$pid_a" 2>/dev/null
    echo "K $((round + 100)) $tkill server-a" >>"$events"
    echo "# server a killed (SIGKILL)"
    after "$tkill" "the server's kill" && ok || bad "server a killed: every client is served by b"
    start a && ok || bad "server a restarts: $(tail -3 "$work/a.err")"
    up_in_haproxy 2 150 && ok || bad "haproxy sees the restarted server a up"
    echo "# server a back in haproxy $(awk -v k="$tkill" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - k }') s after its kill"
  fi
  sleep 2
done
sleep 2
tend=$(date +%s.%N)

# --- the clients stop (a writer first lifts the block it holds)
for p in "${clients[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${clients[@]}"; do
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && bad "a client did not stop within 10 s of SIGTERM"
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
done
clients=()
hasnt "no writer ran out of tokens" "$(cat "$work"/w-*.out)" "X tokens"

"$py" "$client" analyse "$events" "${outs[@]}" >"$work/analysis" || fatal "the analysis"
val() { awk -v k="$1" '$1 == k { print $2 }' "$work/analysis"; }
grep -E '^(stale|unlifted)_read' "$work/analysis" | head -5
echo "# overviews within a block's time (after its 201, before its lift was sent): $(val checked);" \
  "within a lift's (after its 200, before the next block): $(val checked_lifted)"
[ "$(val checked)" -gt 0 ] && [ "$(val checked_lifted)" -gt 0 ] && ok || bad "overviews fell within blocks and lifts"
eq "overviews that showed a unit after its block's 201 and before its lift (R-BLK-1)" "$(val stale)" 0
eq "overviews that withheld a unit after its lift's 200 and before the next block (R-BLK-5)" "$(val unlifted)" 0
# every acknowledged change is stored
awk '$1 == "ack" && $2 == "block" { sub(/^block-/, "", $3); print $3 }' "$work/analysis" | sort -u >"$work/ack-blocks"
awk '$1 == "ack" && $2 == "lift" { sub(/^block-/, "", $3); print $3 }' "$work/analysis" | sort -u >"$work/ack-lifts"
sql "SELECT json::json->>'id' FROM store_records WHERE type = 'block'" | sort -u >"$work/stored-blocks"
sql "SELECT json::json->>'block' FROM store_records WHERE type = 'block_lift'" | sort -u >"$work/stored-lifts"
eq "acknowledged blocks missing from store_records (of $(val acked_blocks))" \
  "$(comm -23 "$work/ack-blocks" "$work/stored-blocks" | wc -l)" 0
eq "acknowledged lifts missing from store_records (of $(val acked_lifts))" \
  "$(comm -23 "$work/ack-lifts" "$work/stored-lifts" | wc -l)" 0
[ "$(val acked_blocks)" -gt 0 ] && ok || bad "some blocks were acknowledged"
# no block of the writers is left in force: each server shows both units, on its own
for s in a b; do
  [ "$(shown "http://127.0.0.1:${sport[$s]}" "$p1" "$u1")" -gt 0 ] &&
    [ "$(shown "http://127.0.0.1:${sport[$s]}" "$p2" "$u2")" -gt 0 ] && ok ||
    bad "server $s shows both units once every block is lifted"
done
# the answers: no 500 (a failure the client cannot tell from a bug), what else there was
codes=$(cat "${outs[@]}" | awk '$1 ~ /^[BLCOR]$/ { print $1, $4 }' | sort | uniq -c | awk '{ printf "%s:%s=%s ", $2, $3, $1 }')
echo "# answers (kind:status=count): $codes"
eq "answers 500" "$(cat "${outs[@]}" | awk '$1 ~ /^[BLCOR]$/ && $4 == 500' | wc -l)" 0
# the access log: whole, and for each actor at least one entry for each of its requests that
# was answered 200 or 201 (each such answer means a durable entry, R-LOG-1; the log may
# hold more: an entry whose request's answer a failure lost, a refused lift's 409)
sql "SELECT seq, time, actor_id, patient FROM log_pg_entry WHERE seq > $seq0 ORDER BY seq" >"$work/entries" # (OB_KEEP)
entries() { sql "SELECT count(*) FROM log_pg_entry WHERE seq > $seq0 AND actor_id = '$1'"; }
answered() { cat "${@:2}" | awk -v k="$1" 'index(k, $1) && ($4 == 200 || $4 == 201)' | wc -l; }
n=$(entries "$gp-dr0") a=$(answered OR "$work"/o-*.out "$work"/r-*.out)
echo "# access log: $n entries of the GP's during the load, $a overviews and reads answered 200"
[ "$n" -ge "$a" ] && ok || bad "the log holds $n of the GP's entries for $a answered reads"
for p in "$p1" "$p2"; do
  n=$(entries "$p") a=$(answered BLC "$work/w-$p.out")
  echo "# access log: $n entries of $p's during the load, $a blocks, lifts and lists answered 200/201"
  [ "$n" -ge "$a" ] && ok || bad "the log holds $n of $p's entries for $a answered requests"
done
out=$("$bin" log verify --db "$uri" --key "$work/k.log-pub" 2>&1)
eq "overblik log verify on the failed-over cluster: exit 0" "$?" 0
echo "# $out" | head -3

# --- the figures
secs=$(awk -v a="$tstart" -v b="$tend" 'BEGIN { printf "%.0f", b - a }')
echo "# load over ${secs} s: $(val acked_blocks) blocks and $(val acked_lifts) lifts acknowledged," \
  "$(cat "$work"/o-*.out | awk '$4 == 200' | wc -l) overviews and $(awk '$4 == 200' "$work"/r-*.out | wc -l) reads answered 200"
# how long the answered requests took (all of them, the failovers' included)
for k in B:blocks L:lifts O:overviews R:reads; do
  cat "${outs[@]}" | awk -v k="${k%%:*}" '$1 == k && ($4 == 200 || $4 == 201) { print ($3 - $2) * 1000 }' |
    sort -n | awk -v w="${k#*:}" '{ v[NR] = $1 } END { if (!NR) exit; i = int(NR * 0.99); if (i < 1) i = 1
      printf "# %s answered in %.0f ms (median), %.0f ms (99th percentile)\n", w, v[int((NR + 1) / 2)], v[i] }'
done
awk '$1 == "outage" {
  printf "# %s: %.1f s without service (writes %.1f, reads %.1f, overviews %.1f)\n", $3, $7, $4, $5, $6
  if ($3 ~ /^primary/) { if ($7 > m || $7 == "nan") m = $7; all = all " " $7 } }
  END { printf "# %d primary kills, seconds without service per kill:%s; max %.1f s\n", split(all, x, " "), all, m }' "$work/analysis"
awk '$1 == "outage" && $7 == "nan"' "$work/analysis" | grep -q . && bad "a client was never served again after a kill"
# both servers stop cleanly when told (SIGTERM), after all that (and, on the ASan build, with
# nothing leaked)
# shellcheck disable=SC2154 # pid_a, pid_b: set by start (printf -v)
kill -TERM "$pid_a" "$pid_b"
for p in "$pid_a" "$pid_b"; do
  st=""
  for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then st=running; kill -KILL "$p"; fi
  wait "$p" 2>/dev/null
  eq "a server stops cleanly on SIGTERM (exit status)" "${st:-$?}" 0
done
echo "# pg_failover_http.sh took $((SECONDS - t0)) s"
[ "$failn" -eq 0 ] || logs # failn: lib.bash's count of failed checks
the_end
