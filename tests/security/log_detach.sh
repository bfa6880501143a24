#!/usr/bin/env bash
# Attack: an operator's ordinary day detaches the live access log (T-LOG-OPS-1; R-LOG-1,
# R-LOG-4; issue 23). A serving database under load gets, one after another, what an
# operator runs beside it: SQLite's online backup (`sqlite3 db ".backup F"`), `overblik
# backup`, the retention job (`overblik log expire`), `overblik log verify`, `overblik log
# show` and a bare `sqlite3 db "select ..."`. Each opens and closes the database from
# another process. If the server has lost SQLite's shared lock on the file (it did:
# closing a descriptor of its own dropped every POSIX lock of the process), the first of
# them to close deletes the live -wal and -shm, the server goes on committing into a
# deleted file, and a crash then erases reads it had answered. Then SIGKILL, and:
# - the server still held its POSIX (SQLite) lock on the database after its WAL checkpoints;
# - every acknowledged search (each HTTP 200: the answer is sent only once its log entry is
#   durable) has its log entry after the crash, per reader (actor and patient);
# - `overblik log verify` passes, and a restarted server serves and logs.
# Bounded: about 20 s. Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need jq sqlite3 curl
work=$(mktemp -d)
srv=""; loads=()
cleanup() {
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
READERS=4

db="$work/d.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 200 --seed 7 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 200 --seed 7 >/dev/null 2>&1
field() { grep -m1 "\"id\":\"$1\"" "$work/d.ndjson" | grep -o "\"$2\":\"[^\"]*\"" | cut -d'"' -f4; }
entries() { sqlite3 "$db" "select count(*) from log_entries where actor_id='$1' and patient='$2'"; }

declare -A actor tok
for i in $(seq 0 $((READERS-1))); do
  gp=$(field "pt-$i" gp)
  actor[$i]="$gp-dr0"
  tok[$i]=$("$bin" token --db "$db" --kind professional --sub "${actor[$i]}" --site "$gp" --ttl 600)
done

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; the_end; exit 1; }

# reader i: curl keeping 4 searches of patient pt-i as their GP in flight over reused
# connections; one status code a line into r$i.codes
for i in $(seq 0 $((READERS-1))); do
  awk -v u="$addr/fhir/Appointment?patient=Patient/pt-$i&_count=1" \
    'BEGIN { for (k = 0; k < 200000; k++) printf "url = \"%s\"\noutput = /dev/null\n", u }' >"$work/r$i.cfg"
  curl -s --parallel --parallel-max 4 -H "Authorization: Bearer ${tok[$i]}" \
       -w '%{http_code}\n' -K "$work/r$i.cfg" >"$work/r$i.codes" 2>/dev/null &
  loads+=($!)
done

# Until the server checkpoints its WAL (at 4,000 pages, about 16 MB), at most 30 s: before
# that there was nothing to lose, and the test would prove nothing.
for _ in $(seq 1 300); do
  [ "$(stat -c %s "$db-wal" 2>/dev/null || echo 0)" -ge 16000000 ] && break
  sleep 0.1
done
[ "$(stat -c %s "$db-wal" 2>/dev/null || echo 0)" -ge 16000000 ] && ok ||
  bad "the load did not fill the WAL to its checkpoint within 30 s"
sleep 1

# posix_lock PID FILE: whether PID holds a POSIX (fcntl, SQLite's) lock on FILE
posix_lock() {
  local ino; ino=$(stat -c %i "$2")
  grep -E "^[0-9]+: POSIX +ADVISORY +(READ|WRITE) +$1 [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks >/dev/null
}
posix_lock "$srv" "$db" && ok || bad "after its WAL checkpoints the server holds no SQLite lock on the database (/proc/locks)"

# What an operator runs beside the server, each against the live database.
sqlite3 "$db" ".backup '$work/backup.db'" && ok || bad "sqlite3 .backup failed"
sleep 0.5
"$bin" backup --db "$db" --out "$work/backup2.db" >/dev/null 2>&1 && ok || bad "overblik backup failed"
sleep 0.5
"$bin" log expire --db "$db" --keep-days 3650 >/dev/null 2>&1 && ok || bad "log expire failed"
sleep 0.5
"$bin" log verify --db "$db" >/dev/null 2>&1 && ok || bad "log verify during the load failed"
sleep 0.5
"$bin" log show --db "$db" --patient pt-0 >/dev/null 2>&1 && ok || bad "log show during the load failed"
sleep 0.5
sqlite3 "$db" "select count(*) from log_entries" >/dev/null && ok || bad "a bare sqlite3 reader failed"
sleep 1
[ -e "$db-wal" ] && ok || bad "the live -wal file is gone"
[ -e "$db-shm" ] && ok || bad "the live -shm file is gone"
posix_lock "$srv" "$db" && ok || bad "after the operator's commands the server holds no SQLite lock on the database"

kill -9 "$srv"; wait "$srv" 2>/dev/null; srv=""
sleep 0.2
for p in "${loads[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
loads=()

out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after SIGKILL" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | tail -3
total=0
for i in $(seq 0 $((READERS-1))); do
  acks=$(grep -c '^200$' "$work/r$i.codes")
  others=$(grep -v '^000$' "$work/r$i.codes" | grep -vc '^200$') # 000: refused after the kill
  got=$(entries "${actor[$i]}" "pt-$i")
  total=$((total + acks))
  [ "$got" -ge "$acks" ] && ok ||
    bad "reader $i: $acks acknowledged searches but only $got log entries: $((acks - got)) answered reads have no entry"
  [ "$others" -eq 0 ] && ok || bad "reader $i: $others answers that were not 200 before the crash"
done
[ "$total" -ge 2000 ] && ok || bad "the load ran: only $total acknowledged searches"
echo "log_detach.sh: $total acknowledged searches before SIGKILL" >&2

# a restarted server serves and logs on the same database
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] && ok || { bad "server did not restart"; tail -5 "$work/err.txt"; }
if [ -n "$addr" ]; then
  before=$(entries "${actor[0]}" pt-0)
  c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${tok[0]}" \
        "$addr/fhir/Appointment?patient=Patient/pt-0")
  eq "after restart: a search answers 200" "$c" 200
  eq "after restart: the search is logged" "$(entries "${actor[0]}" pt-0)" $((before + 1))
  kill -TERM "$srv"; wait "$srv"; rc=$?; srv=""
  eq "after restart: SIGTERM exits 0" "$rc" 0
  "$bin" log verify --db "$db" >/dev/null 2>&1; eq "log verify after the restart" "$?" 0
fi
the_end
