#!/usr/bin/env bash
# Attack: stop the server while a read still waits for its log entry (T-LOG-OPS-3; R-LOG-1;
# issue 23). Another process holds the database's write lock for 4 s (as a long
# `log expire` or a stray `sqlite3` session can), so a search is parked waiting for its
# entry; then SIGTERM with --shutdown-timeout 1. libmicrohttpd aborts the process when it is
# stopped with a parked connection (exit 134: no final checkpoint, the search index not
# marked clean). Wanted instead:
# - the parked search is answered 503 (never 200 without its entry), about when the
#   shutdown timeout runs out;
# - the server exits 0 after the lock is gone, having flushed its log;
# - `overblik log verify` passes and says the search index is complete.
# Bounded: about 15 s. Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl python3
work=$(mktemp -d)
srv=""; holder=""
cleanup() {
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  [ -n "$holder" ] && kill "$holder" 2>/dev/null
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

db="$work/s.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 20 --seed 2 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/s.ndjson" --patients 20 --seed 2 >/dev/null 2>&1
gp=$(grep -m1 '"id":"pt-0"' "$work/s.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
tok=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 600)
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2 \
  --shutdown-timeout 1
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; the_end; exit 1; }
search() { curl -s -o "$1" -w '%{http_code}' -H "Authorization: Bearer $tok" \
             "$addr/fhir/Appointment?patient=Patient/pt-0"; }
eq "a search before answers 200" "$(search /dev/null)" 200

# another process holds the write lock for 4 s (on PostgreSQL: the log's head row's table)
if on_pg; then
  psql -X -q "$(pg_ci "$db")" >/dev/null <<SQL &
BEGIN;
LOCK TABLE log_pg_head IN ACCESS EXCLUSIVE MODE;
\! touch $work/held
SELECT pg_sleep(4);
ROLLBACK;
SQL
else
  python3 - "$db" "$work/held" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("begin immediate")
open(sys.argv[2], "w").close()
time.sleep(4)
c.execute("rollback")
PY
fi
holder=$!
for _ in $(seq 1 50); do [ -e "$work/held" ] && break; sleep 0.1; done
[ -e "$work/held" ] && ok || bad "the write lock was taken"

( search "$work/parked.body" >"$work/parked.code" ) &
client=$!
sleep 0.5
t0=$(date +%s.%N)
kill -TERM "$srv"
wait "$client"
t1=$(date +%s.%N)
wait "$srv"; rc=$?; srv=""
wait "$holder" 2>/dev/null; holder=""
eq "the parked search is answered 503" "$(cat "$work/parked.code")" 503
grep -q '"OperationOutcome"' "$work/parked.body" && ok || bad "with an OperationOutcome ($(head -c 300 "$work/parked.body"))"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3.5) }' && ok ||
  bad "the parked search was answered when the shutdown timeout ran out (took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s)"
eq "the server exits 0" "$rc" 0
has "stderr says it answered the parked request" "$(cat "$work/err.txt")" "answered 503"
has "stderr says it stopped" "$(cat "$work/err.txt")" "overblik serve: stopped"
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "log verify after the stop" "$rc" 0
on_pg || has "the search index is complete" "$out" "search index complete" # SQLite's own
the_end
