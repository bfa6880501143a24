#!/usr/bin/env bash
# Backup and restore as docs/operations.md gives them (issue 23; R-LOG-1, R-LOG-4):
# - `overblik backup` while the server answers a steady load: the copy is written, verified
#   (integrity_check and the log), private (0600), and the server never answers anything but
#   200 meanwhile;
# - `overblik restore` onto the serving database is refused, nothing changed;
# - a backup whose log was edited is refused by restore (exit 4), nothing created;
# - restored elsewhere: `log verify` passes, its log is a prefix of the live one (every
#   restored entry's leaf hash equals the live entry's at the same seq, and the live log
#   is longer: it went on; and a witness accepts the live checkpoint after the restored
#   one only through a consistency proof, while one that saw the live log calls the
#   restored copy a rollback), and a server started on it serves, logs, and verifies.
# Bounded: about 15 s. Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need jq sqlite3 curl
work=$(mktemp -d)
srv=""; loads=()
cleanup() {
  [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
  for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

db="$work/live.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 100 --seed 4 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/g.ndjson" --patients 100 --seed 4 >/dev/null 2>&1
gp=$(grep -m1 '"id":"pt-0"' "$work/g.ndjson" | grep -o '"gp":"[^"]*"' | cut -d'"' -f4)
tok=$("$bin" token --db "$db" --kind professional --sub "$gp-dr0" --site "$gp" --ttl 600)
serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] && ok || { bad "server did not start"; cat "$work/err.txt"; the_end; exit 1; }

awk -v u="$addr/fhir/Appointment?patient=Patient/pt-0&_count=1" \
  'BEGIN { for (k = 0; k < 100000; k++) printf "url = \"%s\"\noutput = /dev/null\n", u }' >"$work/load.cfg"
curl -s --parallel --parallel-max 4 -H "Authorization: Bearer $tok" -w '%{http_code}\n' \
     -K "$work/load.cfg" >"$work/codes" 2>/dev/null &
loads+=($!)
sleep 2

# the backup, under load
out=$("$bin" backup --db "$db" --out "$work/b1.db" 2>&1); rc=$?
eq "backup under load exits 0" "$rc" 0
has "backup says the copy verified" "$out" "log verified"
[ -f "$work/b1.db" ] && ok || bad "the copy is there"
[ ! -e "$work/b1.db.partial" ] && ok || bad "no .partial is left"
eq "the copy is private" "$(stat -c %a "$work/b1.db")" 600
[ ! -e "$work/b1.db-wal" ] && ok || bad "the copy is one file (no -wal)"
out=$("$bin" backup --db "$db" --out "$work/b1.db" 2>&1); rc=$?
eq "backup over an existing file is refused" "$rc" 1
has "and says why" "$out" "never overwrites"

# restore onto the serving database: refused
before=$(sqlite3 "$db" "select max(seq) from log_entries")
out=$("$bin" restore --from "$work/b1.db" --db "$db" --force 2>&1); rc=$?
eq "restore onto the serving database is refused" "$rc" 3
has "and says a server is writing" "$out" "another overblik process"
c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$addr/fhir/Appointment?patient=Patient/pt-0")
eq "the server still answers" "$c" 200
after=$(sqlite3 "$db" "select max(seq) from log_entries")
[ "$after" -gt "$before" ] && ok || bad "the live log went on ($before -> $after)"

sleep 1
kill "${loads[@]}" 2>/dev/null; wait "${loads[@]}" 2>/dev/null; loads=()
kill -TERM "$srv"; wait "$srv"; eq "SIGTERM exits 0" "$?" 0; srv=""
eq "every answer during the backup was 200" "$(grep -v '^000$' "$work/codes" | grep -vc '^200$')" 0
acks=$(grep -c '^200$' "$work/codes")
[ "$acks" -ge 100 ] && ok || bad "the load ran ($acks answers)"

# a backup whose log was edited: restore refuses it and creates nothing
cp "$work/b1.db" "$work/t.db"
sqlite3 "$work/t.db" "update log_entries set actor_name='someone else' where seq=(select max(seq)/2 from log_entries)"
out=$("$bin" restore --from "$work/t.db" --db "$work/t-restored.db" --keys "$work/live.key" 2>&1); rc=$?
eq "restore of an edited backup exits 4" "$rc" 4
[ ! -e "$work/t-restored.db" ] && ok || bad "and creates nothing"

# restored elsewhere
mkdir "$work/else"; r="$work/else/r.db"
cp "$work/live.cpr-key" "$work/else/r.cpr-key"   # the key files come from the secrets store
cp "$work/live.log-key" "$work/else/r.log-key"
out=$("$bin" restore --from "$work/b1.db" --db "$r" 2>&1); rc=$?
eq "restore elsewhere exits 0" "$rc" 0
out=$("$bin" log verify --db "$r" 2>&1); rc=$?
eq "log verify on the restored copy" "$rc" 0
n=$(sqlite3 "$r" "select count(*) from log_entries")
same=$(sqlite3 "$r" "attach '$db' as live; select count(*) from main.log_entries m join live.log_entries l using(seq) where m.leaf = l.leaf")
head=$(sqlite3 "$r" "select size from log_head")
live=$(sqlite3 "$db" "select size from log_head")
[ "$n" -gt 0 ] && eq "the restored log is a prefix of the live one (leaves equal)" "$same" "$n" || bad "the restored log is empty"
eq "the restored head is its last entry" "$head" "$(sqlite3 "$r" "select max(seq) from log_entries")"
[ "$live" -gt "$head" ] && ok || bad "the live log went on past the backup ($head, $live)"
eq "the restored checkpoints are the live ones" \
   "$(sqlite3 "$r" "attach '$db' as live; select count(*) from main.log_checkpoints m join live.log_checkpoints l using(size) where m.sig = l.sig and m.chain = l.chain")" \
   "$(sqlite3 "$r" "select count(*) from log_checkpoints")"

# The same with the log's own tools (consistency proofs, issue 23): a witness that saw the
# restored log accepts the live one only as its extension (RFC 9162 consistency proof from
# the restored checkpoint to the live one), and one that saw the live log raises a
# rollback alarm on the restored copy.
"$bin" witness init --key "$work/w.key" --name test.invalid/backup >/dev/null
w() { "$bin" witness update --state "$work/$1" --log-key "$work/live.log-pub" --key "$work/w.key" --from "$2" 2>&1; }
out=$(w seen-restored "$r"); eq "witness: takes the restored checkpoint" "$?" 0
out=$(w seen-restored "$db"); rc=$?
eq "witness: the live log extends the restored one (consistency proof)" "$rc" 0
has "witness: says so" "$out" "witnessed"
out=$(w seen-live "$db"); eq "witness: takes the live checkpoint" "$?" 0
out=$(w seen-live "$r"); rc=$?
eq "witness: the restored copy is a rollback of the live log" "$rc" 4
has "witness: raises the alarm" "$out" "ALARM"

# a server on the restored copy serves, logs and verifies
serve_bg srv addr "$work/out2.txt" "$work/err2.txt" --db "$r" --listen 127.0.0.1:0 --threads 2 \
  --jwks "$work/live.jwks.json"
[ -n "$addr" ] && ok || { bad "server on the restored copy did not start"; cat "$work/err2.txt"; }
if [ -n "$addr" ]; then
  c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$addr/fhir/Appointment?patient=Patient/pt-0")
  eq "restored: a search answers 200" "$c" 200
  kill -TERM "$srv"; wait "$srv"; srv=""
  eq "restored: the search is logged" "$(sqlite3 "$r" "select count(*) from log_entries")" $((n + 1))
  "$bin" log verify --db "$r" >/dev/null 2>&1; eq "restored: log verify after serving" "$?" 0
fi
the_end
