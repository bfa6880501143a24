#!/usr/bin/env bash
# End-to-end failover of the PostgreSQL test cluster (issue 18; scripts/pg/cluster.sh,
# docs/failover.md): etcd, three PostgreSQL 15 nodes under Patroni with synchronous
# replication, and haproxy, all real, on loopback. Two writers insert sequential ids in
# autocommit, one through haproxy's primary port and one through the multi-host libpq URI
# (target_session_attrs=read-write), each noting every id whose COMMIT was acknowledged.
# While they write, the leader's machine "dies" five times (KILLS): its Patroni and its
# postmaster with all its backends are SIGKILLed, and the dead member is started again
# before the next. Then:
#   - another member becomes leader, and both writers' writes resume;
#   - every acknowledged id is on the new primary (nothing acknowledged is lost: what
#     synchronous replication promises);
#   - the time without service is measured per path (last acknowledged write before the
#     failure to the first after it) and printed as "# failover: N.N s without service (...)";
#   - the dead member, started again, rejoins as a replica (pg_rewind or a new copy) and has
#     every row; the monitoring commands of docs/operations.md answer (a sync standby, etcd
#     healthy, the failover in Patroni's history, WAL archived); `cluster.sh stop` leaves no
#     process of the cluster running.
# Beside them, two "servers" of overblik's access log on PostgreSQL (bench_log_pg_load, built
# beside $OB_BIN: store/pg/log_pg.c through the multi-host URI) append entries; after the
# failure every entry either acknowledged is in the log where it was told, and
# `overblik log verify --db postgresql://...` verifies the whole log (R-LOG-1, R-LOG-4). And
# two servers sharing changes (bench_pg_sync_load: store/pg/pg_sync.c, leases) write through the
# failure: every acknowledged change is there afterwards, both resume, and neither answered a
# read from an index without a change it had acknowledged (R-BLK-5).
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"
cluster="$(cd "$(dirname "$0")/../../scripts/pg" && pwd)/cluster.sh"

# The suite runs tests/e2e twice, on the release build and on the ASan build (Makefile:
# test-release, test-asan). This test runs no overblik code, so the sanitizer run would only
# repeat it at the cost of a minute of CI time: it passes there without running.
case ${OB_BIN:-} in
  *build-asan*)
    echo "pg_failover.sh: skipped under the ASan build (it runs no overblik code; the release run covers it)"
    the_end
    exit
    ;;
esac
need patroni etcd haproxy psql jq curl
# Debian's python3, whose psycopg2 is the python3-psycopg2 package (a python3 earlier on the
# PATH, pyenv's say, has not got it)
py=/usr/bin/python3
"$py" -c 'import psycopg2' 2>/dev/null || { echo "python3-psycopg2 is required"; exit 1; }

t0=$SECONDS
work=$(mktemp -d)
db=$(mktemp -d) # the cluster's directory (cluster.sh gives it to the postgres user)
writers=()
loaders=()
cleanup() {
  local p
  for p in "${writers[@]}" "${loaders[@]}"; do kill "$p" 2>/dev/null; done
  bash "$cluster" stop "$db" >/dev/null 2>&1
  rm -rf "$work" "$db"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE # (a signal ends the script through the EXIT trap)
# logs: the tails a failure needs (the cluster's logs and the writers' errors)
logs() {
  local f
  for f in "$db"/n*/patroni.log "$db"/haproxy.log "$work"/*.err "$work"/*.acks; do
    [ -f "$f" ] && { echo "--- $f (last 20 lines)"; tail -n 20 "$f"; }
  done
}
fatal() { bad "$*"; logs; the_end; exit 1; }

# --- the cluster
bash "$cluster" start "$db" >"$work/start.out" 2>&1 || { cat "$work/start.out"; fatal "cluster start"; }
ok
echo "# cluster ready in $((SECONDS - t0)) s"
# shellcheck source=/dev/null # the ports: PG_1..3, API_1..3, HAPROXY_PORT, ETCD_PORT
. "$db/cluster.env"
hp=$(bash "$cluster" haproxy-port "$db")
uri=$(bash "$cluster" uri "$db")
has "the URI names three hosts and asks for a read-write session" "$uri" "target_session_attrs=read-write"
conn_hp="host=127.0.0.1 port=$hp user=postgres dbname=postgres connect_timeout=2 passfile=$db/pgpass"
sql() { PGCONNECT_TIMEOUT=3 psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }
sql "$conn_hp" 'create table writes (w text, id int, primary key (w, id))' >/dev/null ||
  fatal "create table through haproxy"

# --- the writers: one connection at a time, one autocommit INSERT after another; a line
# "A id time" once an INSERT's COMMIT is acknowledged, "E time error" when a statement or a
# connection fails (then it connects again: a new id, since the failed one may or may not
# have committed). The time is the wall clock, as the test's own.
cat >"$work/writer.py" <<'EOF'
import signal, sys, time
import psycopg2
dsn, name, out = sys.argv[1:4]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
n, conn = 0, None
with open(out, "a", buffering=1) as f:
    while not stop:
        try:
            if conn is None:
                conn = psycopg2.connect(dsn, keepalives=1, keepalives_idle=1,
                                        keepalives_interval=1, keepalives_count=3)
                conn.autocommit = True
                cur = conn.cursor()
            n += 1
            cur.execute("insert into writes (w, id) values (%s, %s)", (name, n))
            f.write("A %d %.3f\n" % (n, time.time()))
            time.sleep(0.005)
        except psycopg2.Error as e:
            f.write("E %.3f %s\n" % (time.time(), str(e).strip().replace("\n", " | ")[:200]))
            try:
                conn is not None and conn.close()
            except psycopg2.Error:
                pass
            conn = None
            time.sleep(0.05)
EOF
"$py" "$work/writer.py" "$conn_hp" haproxy "$work/haproxy.acks" 2>"$work/haproxy.err" &
writers+=($!)
"$py" "$work/writer.py" "$uri" uri "$work/uri.acks" 2>"$work/uri.err" &
writers+=($!)
# the access log's two servers, through the multi-host URI (each: 4 threads, until told)
load=$(dirname "${OB_BIN:-.}")/bench_log_pg_load
[ -x "$load" ] || fatal "bench_log_pg_load is not built beside \$OB_BIN ($load)"
for w in s1 s2; do
  "$load" append "$uri" 300 4 "$w" "$work/$w.logacks" >"$work/$w.logout" 2>"$work/$w.err" &
  loaders+=($!)
done
syncload=$(dirname "${OB_BIN:-.}")/bench_pg_sync_load
[ -x "$syncload" ] || fatal "bench_pg_sync_load is not built beside \$OB_BIN ($syncload)"
for w in ca cb; do
  "$syncload" "$uri" 300 "$w" "$work/$w.syncacks" >"$work/$w.syncout" 2>"$work/$w.err" &
  loaders+=($!)
done
syncacks() { if [ -f "$work/$1.syncacks" ]; then wc -l <"$work/$1.syncacks"; else echo 0; fi; }
acks() { if [ -f "$work/$1.acks" ]; then awk '/^A / { n++ } END { print n + 0 }' "$work/$1.acks"; else echo 0; fi; }
logacks() { if [ -f "$work/$1.logacks" ]; then wc -l <"$work/$1.logacks"; else echo 0; fi; }
for _ in $(seq 1 150); do
  [ "$(acks haproxy)" -ge 50 ] && [ "$(acks uri)" -ge 50 ] && [ "$(logacks s1)" -ge 50 ] &&
    [ "$(logacks s2)" -ge 50 ] && [ "$(syncacks ca)" -ge 10 ] && [ "$(syncacks cb)" -ge 10 ] && break
  sleep 0.1
done
{ [ "$(logacks s1)" -ge 50 ] && [ "$(logacks s2)" -ge 50 ]; } ||
  fatal "both log servers append before the failure (acks: $(logacks s1), $(logacks s2))"
{ [ "$(acks haproxy)" -ge 50 ] && [ "$(acks uri)" -ge 50 ]; } ||
  fatal "both writers write before the failure (acks: haproxy $(acks haproxy), uri $(acks uri))"
ok

# --- the leader's machine dies, KILLS times (default 5): its Patroni, and its postmaster
# with every backend. Patroni starts the postmaster in a session of its own (through a
# child that calls setsid and exits), so the postmaster's process group holds the
# postmaster and its children only. After each kill another member leads and the writes
# resume; the dead member is started again and rejoins as a replica (strict synchronous
# replication needs a standby) before the next kill. The writers, the log's servers and the
# sync servers write through all of them.
# after_kill FILE: "first-ack-after last-ack-before" around the writer's first failure after
# the kill (its clock's view of the outage), or nothing while no write has succeeded since
after_kill() {
  awk -v k="$tkill" '
    $1 == "A" && !err { last = $3 }
    $1 == "E" && $2 >= k && !err { err = 1 }
    $1 == "A" && err { printf "%s %s\n", $3, last; exit }' "$1"
}
kills=${KILLS:-5}
sync_before_ca=$(syncacks ca) sync_before_cb=$(syncacks cb)
outages=""
for round in $(seq 1 "$kills"); do
  old="" pm=""
  for _ in $(seq 1 40); do
    read -r old pm < <(bash "$cluster" leader "$db" 2>/dev/null) && [ -n "$pm" ] && break
    sleep 0.5
  done
  { [ -n "${old:-}" ] && [ -n "${pm:-}" ]; } || fatal "kill $round: a leader with a postmaster (got '${old:-}' '${pm:-}')"
  pp=$(head -1 "$db/$old/patroni.pid")
  pg=$(ps -o pgid= -p "$pm" | tr -d ' ')
  { [ -n "$pg" ] && [ "$pg" != "$(ps -o pgid= -p "$pp" | tr -d ' ')" ] &&
    [ "$pg" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; } ||
    fatal "the postmaster $pm has a process group of its own (got '$pg')"
  sleep 1
  tkill=$(date +%s.%N) # a writer's errors from here on are the failure's
  kill -KILL -- "$pp" "-$pg" || fatal "kill $old's Patroni ($pp) and postmaster ($pm, group $pg)"
  echo "# kill $round: $old (Patroni $pp, postmaster $pm and its backends, process group $pg)"
  new=""
  for _ in $(seq 1 120); do
    new=$(bash "$cluster" leader "$db" 2>/dev/null | cut -d' ' -f1)
    [ -n "$new" ] && [ "$new" != "$old" ] && [ -n "$(after_kill "$work/haproxy.acks")" ] &&
      [ -n "$(after_kill "$work/uri.acks")" ] && break
    sleep 0.5
  done
  { [ -n "$new" ] && [ "$new" != "$old" ]; } || fatal "kill $round: a new leader is elected (got '$new', old '$old')"
  ok
  for w in haproxy uri; do
    read -r first last < <(after_kill "$work/$w.acks")
    [ -n "${first:-}" ] || fatal "kill $round: writes resume through $w after the failure"
    ok
    gap=$(awk -v f="$first" -v l="$last" 'BEGIN { printf "%.1f", f - l }')
    echo "# kill $round: $gap s without service ($w)"
    outages+=" $gap"
  done
  # when the new leader took the lock (its Patroni's log, local time), for the record
  tp=$(grep 'promoted self to leader' "$db/$new/patroni.log" | tail -1 | cut -c1-23 | tr , .)
  [ -z "$tp" ] || awk -v p="$(date -d "$tp" +%s.%N)" -v k="$tkill" -v n="$new" \
    'BEGIN { printf "# %s promoted itself %.1f s after the kill\n", n, p - k }'
  # the dead member comes back (`start` starts what is not running and waits until the
  # cluster has a primary with two streaming replicas again): the next kill has a standby
  bash "$cluster" start "$db" >"$work/restart.out" 2>&1 || { cat "$work/restart.out"; fatal "kill $round: restart $old"; }
  eq "kill $round: $old rejoins as a replica (Patroni's /replica)" \
    "$(v=API_${old#n}; curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:${!v}/replica")" 200
done
echo "# $kills primary kills; seconds without service (haproxy, uri per kill):$outages"
# a little more load on the new primary, then the writers stop
sleep 1
for p in "${writers[@]}"; do kill "$p" 2>/dev/null; done
for _ in $(seq 1 50); do
  alive=0
  for p in "${writers[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break
  sleep 0.2
done
eq "the writers stop when told" "$alive" 0
for p in "${writers[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
writers=()
# the log's servers finish the batch they are in and stop
for p in "${loaders[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${loaders[@]}"; do wait "$p"; eq "a log or sync server stops cleanly (exit 5: a stale read)" "$?" 0; done
loaders=()
for w in s1 s2; do sed 's/^/# log server '"$w"': /' "$work/$w.logout"; done
for w in ca cb; do sed 's/^/# sync server '"$w"': /' "$work/$w.syncout"; done
[ "$(syncacks ca)" -gt "$sync_before_ca" ] && [ "$(syncacks cb)" -gt "$sync_before_cb" ] && ok ||
  bad "both sync servers acknowledge changes after the failover ($sync_before_ca -> $(syncacks ca), $sync_before_cb -> $(syncacks cb))"

# --- nothing acknowledged is lost: every acked id is on the new primary
read -r now _ < <(bash "$cluster" leader "$db")
eq "the new leader still leads" "$now" "$new"
for w in haproxy uri; do
  awk '$1 == "A" { print $2 }' "$work/$w.acks" | sort -n >"$work/$w.acked"
  sql "$conn_hp" "select id from writes where w = '$w'" | sort -n >"$work/$w.stored" ||
    fatal "read the rows back through haproxy"
  lost=$(comm -23 "$work/$w.acked" "$work/$w.stored" | wc -l)
  n=$(wc -l <"$work/$w.acked")
  eq "$w: acknowledged ids missing on the new primary (of $n)" "$lost" 0
  echo "# $w: $n acknowledged commits, $(wc -l <"$work/$w.stored") rows, $lost lost"
done

# --- the access log: every acknowledged entry where its server was told, the log whole
cat "$work/s1.logacks" "$work/s2.logacks" | tr ' ' '\t' >"$work/logacks.tsv"
nacks=$(wc -l <"$work/logacks.tsv")
sql "$conn_hp" "create table log_acked (seq bigint, patient text)" >/dev/null &&
  PGCONNECT_TIMEOUT=3 psql "$conn_hp" -XAtq -v ON_ERROR_STOP=1 \
    -c "\\copy log_acked from '$work/logacks.tsv'" >/dev/null || fatal "load the log's acknowledgements"
eq "access log: acknowledged entries missing or moved after the failover (of $nacks)" \
  "$(sql "$conn_hp" "select count(*) from log_acked a left join log_pg_entry e using (seq, patient) where e.seq is null")" 0
# every acknowledged change is there, as written
cat "$work/ca.syncacks" "$work/cb.syncacks" | awk '{ printf "%s\t%s=%s\n", $1, $2, $3 }' >"$work/syncacks.tsv"
nsync=$(wc -l <"$work/syncacks.tsv")
sql "$conn_hp" "create table sync_acked (seq bigint, json text)" >/dev/null &&
  PGCONNECT_TIMEOUT=3 psql "$conn_hp" -XAtq -v ON_ERROR_STOP=1 \
    -c "\\copy sync_acked from '$work/syncacks.tsv'" >/dev/null || fatal "load the changes' acknowledgements"
eq "changes: acknowledged ones missing or changed after the failover (of $nsync)" \
  "$(sql "$conn_hp" "select count(*) from sync_acked a left join sync_change c using (seq, json) where c.seq is null")" 0
"$load" vkey >"$work/log.pub"
out=$("${OB_BIN}" log verify --db "$uri" --key "$work/log.pub" 2>&1)
eq "overblik log verify on the failed-over cluster: exit 0" "$?" 0
has "... the whole log" "$out" "log verified:"
echo "# $out"

# --- the last member killed, back as a replica since the loop: it has every row
v=PG_${old#n}
port=${!v}
conn_old="host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=2 passfile=$db/pgpass"
want=$(sql "$conn_hp" "select count(*) from writes")
got=""
for _ in $(seq 1 40); do
  got=$(sql "$conn_old" "select pg_is_in_recovery(), count(*) from writes" 2>/dev/null)
  [ "$got" = "t|$want" ] && break
  sleep 0.25
done
eq "$old is in recovery and has every row" "$got" "t|$want"
# how it caught up (informational): rewound to the new timeline, or copied anew
if grep -q 'running pg_rewind' "$db/$old/patroni.log"; then how="rewound by pg_rewind"
elif grep -qi 'removing data directory' "$db/$old/patroni.log"; then how="copied anew (pg_basebackup)"
else how="replaying WAL (no rewind needed)"; fi
echo "# $old rejoined: $how"

# --- what docs/operations.md says to watch (its block `<!-- pg_failover.sh: monitor -->`),
# run as printed, as the cluster's user: each command answers, a sync standby is there, the
# failover is in the history, WAL was archived, and the log's head and the leases are read
mon=$(awk -v m="<!-- pg_failover.sh: monitor -->" '$0 == m { want = 1; next }
  want && /^```/ { if (inside) exit; inside = 1; next } want && inside { print }' \
  "$(dirname "$0")/../../docs/operations.md")
[ "$(grep -c . <<<"$mon")" -ge 5 ] && ok || bad "docs/operations.md has the monitor block"
as_owner=()
[ "$(id -u)" -ne 0 ] || as_owner=(runuser -u postgres --)
out=$("${as_owner[@]}" env HOME="$db" PATRONI_YML="$db/n1/patroni.yml" DB="$conn_hp" \
  ETCD="127.0.0.1:$ETCD_PORT" bash -euo pipefail -c "$mon" 2>&1)
eq "the monitoring commands: exit 0" "$?" 0
has "... a synchronous standby" "$out" "|sync|"
has "... etcd healthy" "$out" "is healthy"
has "... the failover in the history" "$out" "$new"
[ "$(ls "$db/wal-archive" | wc -l)" -gt 0 ] && ok || bad "the cluster archived WAL into $db/wal-archive"
echo "$out" | sed 's/^/# monitor: /'

bash "$cluster" status "$db" 2>&1 | grep -E '^\|' | sed 's/^/# /' # roles and timelines
# --- stop leaves nothing: every PID the cluster had is gone, no process names its directory
pids=()
for f in etcd/etcd haproxy n1/patroni n2/patroni n3/patroni; do pids+=("$(head -1 "$db/$f.pid")"); done
for m in n1 n2 n3; do pids+=("$(head -1 "$db/$m/data/postmaster.pid")"); done
bash "$cluster" stop "$db" >"$work/stop.out" 2>&1
eq "cluster.sh stop: exit 0" "$?" 0
# (a zombie is dead: it waits for its new parent, PID 1 here, to collect its status)
left=""
for p in "${pids[@]}"; do
  st=$(ps -o stat= -p "$p" 2>/dev/null) && [[ $st != Z* ]] && left+=" $p"
done
eq "no process of the cluster is left (of ${pids[*]})" "$left" ""
[ -z "$left" ] || { cat "$work/stop.out"; ps -o pid,ppid,stat,etime,args -p "${left# }"; }
# (the pattern from a file: on grep's own command line it would find grep)
left=$(grep -lF -f <(echo "$db/") /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
eq "no process names the cluster's directory" "$left" ""

echo "# pg_failover.sh took $((SECONDS - t0)) s"
[ "$failn" -eq 0 ] || logs # failn: lib.bash's count of failed checks
the_end
