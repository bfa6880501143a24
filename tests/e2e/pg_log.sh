#!/usr/bin/env bash
# The access log on PostgreSQL from the operator's side (issue 18; R-LOG-4, R-LOG-9): two
# "servers" (bench_log_pg_load, built beside overblik) append to one throwaway PostgreSQL 15
# (scripts/pg/throwaway.sh); `overblik log verify --db postgresql://... --key PUBFILE`
# verifies what they wrote; a changed entry, a removed checkpoint and another key are
# found (exit 4); a missing key is a usage error; a password in the URI is never printed.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
need psql
root=$(cd "$(dirname "$0")/../.." && pwd)
load=$(dirname "$bin")/bench_log_pg_load
[ -x "$load" ] || { echo "bench_log_pg_load is not built beside $bin"; exit 1; }
work=$(mktemp -d /tmp/obpglog.XXXXXX); chmod 755 "$work"
trap 'bash "$root/scripts/pg/throwaway.sh" stop "$work/pg"; rm -rf "$work"' EXIT
ci=$(bash "$root/scripts/pg/throwaway.sh" start "$work/pg") || { echo "no PostgreSQL"; exit 1; }
port=$(cat "$work/pg/port")
uri="postgresql://postgres@/postgres?host=$work/pg&port=$port"
"$load" append "$ci" 2 4 a "$work/a" >"$work/a.out" &
p1=$!
"$load" append "$ci" 2 4 b "$work/b" >"$work/b.out"
wait "$p1"
n=$(cat "$work/a" "$work/b" | wc -l)
[ "$n" -gt 100 ] && ok || bad "two servers appended only $n entries"
"$load" vkey >"$work/pub"
out=$("$bin" log verify --db "$uri" --key "$work/pub" 2>&1); rc=$?
eq "log verify on PostgreSQL" "$rc" 0
has "... counts what both servers acknowledged" "$out" "log verified: $n entries"
# every acknowledged seq holds what its server wrote
sql() { psql -X -q -t -A "$ci" -c "$1"; }
sql "CREATE TABLE acked (seq bigint, patient text)" >/dev/null
cat "$work/a" "$work/b" | tr ' ' '\t' | psql -X -q "$ci" -c "\\copy acked FROM STDIN" >/dev/null
eq "every acknowledged entry is where its server was told" \
  "$(sql "SELECT count(*) FROM acked JOIN log_pg_entry USING (seq, patient)")" "$n"
out=$("$bin" log verify --db "$uri" 2>&1); rc=$?
eq "without --key: a usage error" "$rc" 2
# another log's public key (a fresh database's) does not verify this one
"$bin" init --db "$work/other.db" >/dev/null 2>&1
[ -s "$work/other.log-pub" ] && ok || bad "could not make another log's key file"
out=$("$bin" log verify --db "$uri" --key "$work/other.log-pub" 2>&1); rc=$?
eq "another log's key: tampering (exit 4)" "$rc" 4
out=$("$bin" log verify --db "$uri" --key "$work/pub" --checkpoint-every 16 2>&1); rc=$?
eq "a verifier expecting other checkpoints: tampering (exit 4)" "$rc" 4
out=$("$bin" log verify --db "$uri" --key "$work/pub" --checkpoint-every 7 2>&1); rc=$?
eq "segments not a power of two: a usage error (exit 2)" "$rc" 2
# a proof of an entry from the database alone, checked offline with the public key only
"$bin" log prove --db "$uri" --seq 3 >"$work/proof.json" 2>"$work/prove.err"
eq "log prove on PostgreSQL: exit 0" "$?" 0
out=$("$bin" log check --proof "$work/proof.json" --key "$work/pub" 2>&1); rc=$?
eq "... and log check accepts it" "$rc" 0
out=$("$bin" log prove --db "$uri" --seq 999999999 2>&1); rc=$?
eq "a proof of an entry that is not there: exit 1" "$rc" 1
sql "UPDATE log_pg_entry SET enc = set_byte(enc, 30, get_byte(enc, 30) # 1) WHERE seq = 3" >/dev/null
out=$("$bin" log verify --db "$uri" --key "$work/pub" 2>&1); rc=$?
eq "a changed entry: exit 4" "$rc" 4
has "... named" "$out" "entry 3 was changed"
# no proof of the changed entry holds: log prove refuses it, or log check does
if "$bin" log prove --db "$uri" --seq 3 >"$work/proof2.json" 2>/dev/null; then
  out=$("$bin" log check --proof "$work/proof2.json" --key "$work/pub" 2>&1); rc=$?
  eq "a proof of the changed entry fails log check: exit 4" "$rc" 4
else
  ok
fi
sql "UPDATE log_pg_entry SET enc = set_byte(enc, 30, get_byte(enc, 30) # 1) WHERE seq = 3" >/dev/null
eq "changed back: verifies again" "$("$bin" log verify --db "$uri" --key "$work/pub" >/dev/null 2>&1; echo $?)" 0
sql "DELETE FROM log_pg_checkpoint WHERE size = 4096" >/dev/null
if [ "$n" -ge 4096 ]; then
  out=$("$bin" log verify --db "$uri" --key "$work/pub" 2>&1); rc=$?
  eq "a removed checkpoint: exit 4" "$rc" 4
fi
# retention on PostgreSQL (R-LOG-5): `log expire` drops whole sealed partitions with a marker
# signed by the log's key (--keys, as `init` wrote it), and the log still verifies, saying
# how far it was expired; the servers' segment and partition sizes must be given as theirs
"$bin" init --db "$work/k.db" >/dev/null 2>&1
sql "CREATE DATABASE ret" >/dev/null
uri2="postgresql://postgres@/ret?host=$work/pg&port=$port"
OB_PG_LOAD_KEYS="$work/k.key" OB_PG_LOAD_EVERY=64 OB_PG_LOAD_PARTS=1 \
  "$load" append "$uri2" 1 2 r "$work/r" >"$work/r.out" 2>"$work/r.err"
nr=$(wc -l <"$work/r")
[ "$nr" -ge 200 ] && ok || bad "appended $nr entries with overblik's key (want 200+: $(cat "$work/r.err"))"
out=$("$bin" log expire --db "$uri2" --before 2100-01-01 2>&1); rc=$?
eq "log expire on PostgreSQL without --keys: a usage error" "$rc" 2
out=$("$bin" log expire --db "$uri2" --keys "$work/k.key" --before 2100-01-01 2>&1); rc=$?
eq "... with other segment sizes than the servers': refused (exit 1)" "$rc" 1
out=$("$bin" log expire --db "$uri2" --keys "$work/k.key" --checkpoint-every 64 \
  --partition-segments 1 --before 2100-01-01 2>&1); rc=$?
eq "log expire on PostgreSQL: exit 0" "$rc" 0
has "... dropped whole partitions" "$out" "expired "
gone=$(sed -E 's/expired ([0-9]+) .*/\1/' <<<"$out")
[ "$gone" -gt 0 ] && [ $((gone % 64)) -eq 0 ] && ok || bad "expired whole segments ($out)"
out=$("$bin" log verify --db "$uri2" --key "$work/k.log-pub" --checkpoint-every 64 2>&1); rc=$?
eq "the expired log verifies" "$rc" 0
has "... and says how far retention went" "$out" "entries 1..$gone expired by retention"
"$bin" init --db "$work/k2.db" >/dev/null 2>&1
out=$("$bin" log expire --db "$uri2" --keys "$work/k2.key" --checkpoint-every 64 \
  --partition-segments 1 --before 2100-01-01 2>&1); rc=$?
eq "log expire with another log's key: tampering refused (exit 4)" "$rc" 4

# a password in the URI is not printed, whatever fails
out=$("$bin" log verify --db "postgresql://postgres:s3cretpw@127.0.0.1:1/postgres?connect_timeout=2" --key "$work/pub" 2>&1); rc=$?
eq "an unreachable server: a storage error (exit 3)" "$rc" 3
hasnt "... and the password is not in what it says" "$out" "s3cretpw"
the_end
