#!/usr/bin/env bash
# cluster.sh - a PostgreSQL failover cluster on loopback, for tests (issue 18, docs/failover.md):
# one etcd (v3 API), three PostgreSQL 15 nodes each run by its own Patroni (synchronous
# replication: an acknowledged commit is on two nodes), and haproxy sending a "primary" port
# to whichever node Patroni's REST API calls primary. overblik does not use it yet; the test
# tests/e2e/pg_failover.sh drives it with a real write load and kills the leader.
#
#   cluster.sh start DIR         creates the cluster in DIR (free loopback ports), or, when DIR
#                                holds one, starts whichever of its processes is not running
#                                (so a killed member comes back); waits until it is ready
#   cluster.sh config DIR        only writes the configuration into an empty DIR (starts nothing)
#   cluster.sh stop DIR          stops every process of DIR (by the PIDs recorded in DIR)
#   cluster.sh status DIR        the processes and the members' roles (patronictl list)
#   cluster.sh leader DIR        the leader's member name and its postmaster's PID
#   cluster.sh uri DIR           a libpq URI naming all three nodes, target_session_attrs=read-write
#   cluster.sh haproxy-port DIR  the port that always reaches the primary
#
# Everything lives under DIR (configuration, data, logs, PID files, the password file), so
# `stop DIR` and `rm -rf DIR` leave nothing behind. PostgreSQL refuses to run as root: as root,
# the processes run as the `postgres` system user (the package creates it) and DIR becomes
# its; otherwise as the caller. Layout: DIR/cluster.env (ports), DIR/pgpass, DIR/etcd/,
# DIR/haproxy.cfg, DIR/nN/{patroni.yml,data/,patroni.log} for the members n1 n2 n3, and a
# NAME.pid beside each log. The default Debian cluster (`main`, port 5432) is not touched.
# The configuration files are rendered by deploy/pg/render.sh from DIR/site.env and the
# templates in deploy/pg/, the ones production renders (docs/operations.md); WAL is
# archived into DIR/wal-archive as there.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
render="$(cd "$(dirname "$0")/../../deploy/pg" && pwd)/render.sh"
MEMBERS=(n1 n2 n3)
SCOPE=ob-pg
# Failover timing (docs/failover.md): the leader key lives TTL seconds after the leader's
# last renewal, so a dead leader is replaced some TTL seconds after it died; each Patroni
# runs its loop every LOOP_WAIT seconds; a DCS or PostgreSQL call is retried for
# RETRY_TIMEOUT seconds before a leader that cannot renew demotes itself. Patroni wants
# LOOP_WAIT + 2 * RETRY_TIMEOUT <= TTL. 6/1/2 measured 8-9 s without service, also with
# both cores busy; 10/1/3 measured 12-13 s. Loopback only: a real network wants more.
TTL=${OB_PG_TTL:-6}
LOOP_WAIT=${OB_PG_LOOP_WAIT:-1}
RETRY_TIMEOUT=${OB_PG_RETRY_TIMEOUT:-2}
READY_TIMEOUT=${OB_PG_READY_TIMEOUT:-90}

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { die "usage: cluster.sh start|config|stop|status|leader|uri|haproxy-port DIR"; }

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
case $cmd in start | config) mkdir -p "$dir" ;; esac
[ -d "$dir" ] || die "no directory $dir"
dir=$(cd "$dir" && pwd)

if [ "$(id -u)" -eq 0 ]; then
  runas=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  owner=postgres
else
  runas=()
  owner=$(id -un)
fi
# as_owner CMD...: runs CMD as the user the cluster runs as
as_owner() { "${runas[@]}" env HOME="$dir" "$@"; }

# alive NAME: whether the process whose PID is in DIR/NAME.pid runs and is ours (its command
# line names DIR), so a recycled PID is never taken for it
alive() {
  local f=$dir/$1.pid pid c
  [ -s "$f" ] || return 1
  pid=$(head -1 "$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  c=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $c == *"$dir/"* ]]
}
pid_of() { head -1 "$dir/$1.pid"; }
# postmaster MEMBER: the PID of the member's running postmaster, or nothing
postmaster() {
  local f=$dir/$1/data/postmaster.pid pid c
  [ -s "$f" ] || return 0
  pid=$(head -1 "$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  c=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  [[ $c != *"$dir/$1/data"* ]] || echo "$pid"
}

# launch NAME LOG CMD...: starts CMD in the background as the cluster's user, in a session of
# its own, its output to LOG; its PID (after exec) goes to DIR/NAME.pid
launch() {
  local name=$1 log=$2
  shift 2
  # shellcheck disable=SC2016 # $$ and $0 are the inner shell's
  setsid "${runas[@]}" env HOME="$dir" sh -c 'echo $$ >"$0"; exec "$@"' "$dir/$name.pid" "$@" \
    </dev/null >>"$log" 2>&1 &
  local i
  for i in $(seq 1 50); do alive "$name" && return 0; sleep 0.1; done
  tail -n 30 "$log" >&2
  die "$name did not start (log: $log)"
}

load_env() {
  [ -s "$dir/cluster.env" ] || die "$dir holds no cluster (run: cluster.sh start $dir)"
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
}

# free_ports N: N distinct loopback ports nobody listens on now
free_ports() {
  python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# patronictl ARGS...: patronictl against the cluster's etcd (any member's file names it)
# (bounded: patronictl retries for ever when etcd is down)
pctl() { as_owner timeout 10 patronictl -c "$dir/n1/patroni.yml" "$@"; }

# api MEMBER PATH: the HTTP status of Patroni's REST API of MEMBER at PATH (000: no answer)
api() {
  local var=API_${1#n}
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${!var}$2" || true
}

logs_tail() {
  local f
  for f in "$dir"/etcd/etcd.log "$dir"/n*/patroni.log "$dir"/haproxy.log; do
    [ -f "$f" ] && { echo "--- ${f#"$dir"/} (last 25 lines)"; tail -n 25 "$f"; }
  done >&2
}

write_config() {
  local ports pw_su pw_rep pw_rew i m
  read -r -a ports <<<"$(free_ports 9)"
  pw_su=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  pw_rep=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  pw_rew=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  cat >"$dir/cluster.env" <<EOF
ETCD_PORT=${ports[0]}
ETCD_PEER_PORT=${ports[1]}
HAPROXY_PORT=${ports[2]}
PG_1=${ports[3]}
PG_2=${ports[4]}
PG_3=${ports[5]}
API_1=${ports[6]}
API_2=${ports[7]}
API_3=${ports[8]}
EOF
  # the clients' password file (libpq's passfile=); the superuser is `postgres`
  printf '127.0.0.1:*:*:postgres:%s\n' "$pw_su" >"$dir/pgpass"
  chmod 600 "$dir/pgpass"
  load_env
  mkdir -p "$dir/etcd" "$dir/wal-archive"
  # the site file deploy/pg/render.sh renders every file from, as in production
  # (deploy/pg/site.env.example): the same templates, loopback values
  {
    echo "# the loopback test cluster (scripts/pg/cluster.sh); rendered by deploy/pg/render.sh"
    echo "SCOPE=$SCOPE BIN_DIR=$PGBIN CLIENT_NET=127.0.0.1/32"
    for i in 1 2 3; do
      m=n$i
      local pg=PG_$i api=API_$i
      mkdir -p "$dir/$m"
      echo "NAME_$i=$m HOST_$i=127.0.0.1 PG_PORT_$i=${!pg} API_PORT_$i=${!api}"
      echo "DATA_DIR_$i=$dir/$m/data SOCKET_DIR_$i=$dir/$m PGPASS_$i=$dir/$m/pgpass.patroni"
    done
    echo "ETCD_CLIENT_PORT=$ETCD_PORT ETCD_PEER_PORT=$ETCD_PEER_PORT ETCD_DATA_DIR=$dir/etcd/data"
    echo "ETCD_HOSTS=127.0.0.1:$ETCD_PORT ETCD_INITIAL_CLUSTER=n1=http://127.0.0.1:$ETCD_PEER_PORT"
    echo "TTL=$TTL LOOP_WAIT=$LOOP_WAIT RETRY_TIMEOUT=$RETRY_TIMEOUT"
    echo "ARCHIVE_DIR=$dir/wal-archive MAX_CONNECTIONS=50 SHARED_BUFFERS=32MB"
    echo "HAPROXY_BIND=127.0.0.1:$HAPROXY_PORT"
    echo "PW_SUPERUSER=$pw_su PW_REPLICATION=$pw_rep PW_REWIND=$pw_rew"
  } >"$dir/site.env"
  chmod 600 "$dir/site.env"
  for i in 1 2 3; do
    (umask 077 && bash "$render" patroni "$dir/site.env" "$i" >"$dir/n$i/patroni.yml")
  done
  bash "$render" etcd "$dir/site.env" 1 >"$dir/etcd/etcd.yml"
  bash "$render" haproxy "$dir/site.env" >"$dir/haproxy.cfg"
}

# wait_ready: through the haproxy port, a primary with two streaming replicas, one of them
# synchronous; every member running; at most READY_TIMEOUT seconds
wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) js="" rep=""
  while [ $SECONDS -lt $deadline ]; do
    rep=$(psql_ro "host=127.0.0.1 port=$HAPROXY_PORT" "select not pg_is_in_recovery(),
      count(*) filter (where state = 'streaming'), count(*) filter (where sync_state = 'sync')
      from pg_stat_replication")
    if [ "$rep" = "t|2|1" ]; then
      js=$(pctl list -f json 2>/dev/null || true)
      [ -n "$js" ] && jq -e 'length == 3 and all(.[]; .State == "running")' <<<"$js" >/dev/null 2>&1 &&
        return 0
    fi
    sleep 0.5
  done
  echo "cluster.sh: not ready after ${READY_TIMEOUT}s; primary, streaming, sync: '$rep';" \
    "members: ${js:-$(pctl list 2>&1)}" >&2
  logs_tail
  return 1
}

# psql_ro CONNINFO SQL: one query's value as the superuser (empty when it fails)
psql_ro() {
  PGCONNECT_TIMEOUT=2 psql "$1 user=postgres dbname=postgres passfile=$dir/pgpass" \
    -XAtqc "$2" 2>/dev/null || true
}

# configure: in an empty DIR, the cluster's configuration (write_config), owned by its user
configure() {
  [ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1 || die "no postgres user (install postgresql-15)"
  if [ ! -s "$dir/cluster.env" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir is neither empty nor a cluster"
    chmod 700 "$dir"
    write_config
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$dir"
    as_owner test -w "$dir" || die "$owner cannot write $dir (is a parent directory closed to it?)"
  fi
}

start() {
  local t
  for t in patroni patronictl etcd haproxy psql jq curl python3 setpriv "$PGBIN/postgres"; do
    command -v "$t" >/dev/null || die "needs $t (bash scripts/install-deps.sh)"
  done
  configure
  load_env
  local i
  if ! alive etcd/etcd; then
    launch etcd/etcd "$dir/etcd/etcd.log" etcd --config-file "$dir/etcd/etcd.yml"
  fi
  for i in $(seq 1 100); do
    curl -s -m 1 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' && break
    [ "$i" -lt 100 ] || { logs_tail; die "etcd did not become healthy in 20 s"; }
    sleep 0.2
  done
  for i in 1 2 3; do
    if ! alive "n$i/patroni"; then
      # a postmaster left from a Patroni that died is this member's too: Patroni takes it over
      launch "n$i/patroni" "$dir/n$i/patroni.log" patroni "$dir/n$i/patroni.yml"
    fi
  done
  alive haproxy || launch haproxy "$dir/haproxy.log" haproxy -db -f "$dir/haproxy.cfg"
  wait_ready
}

stop() {
  [ -s "$dir/cluster.env" ] || return 0
  local m pids=() pm deadline
  alive haproxy && kill "$(pid_of haproxy)" 2>/dev/null
  # all Patronis at once: each stops its PostgreSQL (fast shutdown); one by one, a replica
  # would see the leader go and start an election
  for m in "${MEMBERS[@]}"; do
    alive "$m/patroni" && { pids+=("$(pid_of "$m/patroni")"); kill "$(pid_of "$m/patroni")" 2>/dev/null; }
  done
  deadline=$((SECONDS + 30))
  for m in "${MEMBERS[@]}"; do
    while { alive "$m/patroni" || [ -n "$(postmaster "$m")" ]; } && [ $SECONDS -lt $deadline ]; do
      sleep 0.2
    done
    if alive "$m/patroni"; then
      echo "cluster.sh: $m's Patroni did not stop in time; killing it" >&2
      kill -KILL "$(pid_of "$m/patroni")" 2>/dev/null || true
    fi
    pm=$(postmaster "$m")
    if [ -n "$pm" ]; then
      # a postmaster whose Patroni is gone (killed): stop it, and its children, ourselves
      kill -INT "$pm" 2>/dev/null || true
      for _ in $(seq 1 50); do [ -z "$(postmaster "$m")" ] && break; sleep 0.2; done
      pm=$(postmaster "$m")
      [ -z "$pm" ] || kill -KILL -- "-$pm" 2>/dev/null || true
    fi
  done
  alive etcd/etcd && kill "$(pid_of etcd/etcd)" 2>/dev/null
  for _ in $(seq 1 50); do
    alive etcd/etcd || alive haproxy || break
    sleep 0.2
  done
  alive etcd/etcd && kill -KILL "$(pid_of etcd/etcd)" 2>/dev/null
  alive haproxy && kill -KILL "$(pid_of haproxy)" 2>/dev/null
  return 0
}

status() {
  load_env
  local n pm
  for n in etcd/etcd haproxy n1/patroni n2/patroni n3/patroni; do
    if alive "$n"; then echo "$n: running, pid $(pid_of "$n")"; else echo "$n: not running"; fi
  done
  for n in "${MEMBERS[@]}"; do
    pm=$(postmaster "$n")
    echo "$n/postmaster: ${pm:+running, pid }${pm:-not running}"
  done
  pctl list 2>&1 || true
}

leader() {
  load_env
  local m
  for m in "${MEMBERS[@]}"; do
    if [ "$(api "$m" /primary)" = 200 ]; then
      echo "$m $(postmaster "$m")"
      return 0
    fi
  done
  die "no member is primary now"
}

case $cmd in
  start) start ;;
  config) configure ;;
  stop) stop ;;
  status) status ;;
  leader) leader ;;
  uri)
    load_env
    echo "postgresql://postgres@127.0.0.1:$PG_1,127.0.0.1:$PG_2,127.0.0.1:$PG_3/postgres?target_session_attrs=read-write&connect_timeout=2&passfile=$dir/pgpass"
    ;;
  haproxy-port) load_env && echo "$HAPROXY_PORT" ;;
  *) usage ;;
esac
