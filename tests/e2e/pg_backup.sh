#!/usr/bin/env bash
# Backups of the access log on PostgreSQL, with the head a witness keeps (issue 18; R-LOG-1,
# R-LOG-4, R-LOG-7; docs/operations.md "On PostgreSQL"). On a throwaway PostgreSQL 15
# (scripts/pg/throwaway.sh) archiving WAL with the archive_command of deploy/pg/patroni.yml.in,
# bench_log_pg_load appends entries, then the commands of docs/operations.md run as printed
# (the blocks marked `<!-- pg_backup.sh: NAME -->`, as the postgres user):
#   1. entries; a base backup (pg_basebackup, pg_verifybackup); more entries; the signed head
#      recorded (log verify --save-head, then --expect-head --save-head as the timer runs
#      it); more entries; the current segment archived (pg_switch_wal); the server is lost;
#   2. restore of the base backup and the whole archive (point-in-time recovery to its end):
#      `log verify --expect-head` passes and every acknowledged entry is there, at its seq;
#   3. restore with one archived segment removed (a gap, or a deleted segment): the log
#      verifies by itself but --expect-head fails (exit 4, "rolled back");
#   4. the base backup alone (a rollback to an old backup): verifies by itself, holds only
#      the entries before the backup; --expect-head fails, "rolled back"; grown with new
#      entries past the head's size it still fails, "forked" (a size alone would pass);
#   5. a recorded head that was altered is refused (exit 4), one that is not a head is a
#      usage error.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"
need psql
root=$(cd "$(dirname "$0")/../.." && pwd)
ops=$root/docs/operations.md
pgbin=/usr/lib/postgresql/15/bin
load=$(dirname "$bin")/bench_log_pg_load
[ -x "$load" ] || { echo "bench_log_pg_load is not built beside $bin"; exit 1; }
t0=$SECONDS
work=$(mktemp -d /tmp/obpgbak.XXXXXX)
chmod 755 "$work"
pg=$work/pg # the throwaway server's directory (its data, socket, the restores)
started=()  # data directories of restored servers that may be running
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  local d
  for d in "${started[@]}"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  bash "$root/scripts/pg/throwaway.sh" stop "$pg"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# the WAL archive, and the files the operator's commands read and write (the postgres user's)
archive=$work/archive
mkdir -p "$archive" "$work/w" "$work/bin"
cp "$bin" "$work/bin/overblik" # the postgres user must reach the binary
chmod 755 "$work/bin/overblik"
[ "$(id -u)" -ne 0 ] || chown postgres "$archive" "$work/w"
# archiving as deploy/pg/patroni.yml.in configures it (YAML "k: v" to postgresql.conf "k = v")
conf=$(sed -n 's/^ *\(archive_[a-z]*\): /\1 = /p' "$root/deploy/pg/patroni.yml.in" | tr -d '"' |
  sed "s|@ARCHIVE_DIR@|$archive|g")
has "the template archives WAL" "$conf" "archive_command = 'test ! -f $archive/%f"
ci=$(OB_PG_CONF=$conf bash "$root/scripts/pg/throwaway.sh" start "$pg") || { echo "no PostgreSQL"; exit 1; }
port=$(cat "$pg/port")
uri="postgresql://postgres@/postgres?host=$pg&port=$port"
sql() { psql -X -q -t -A "$ci" -c "$1"; }
eq "archiving is on" "$(sql 'SHOW archive_mode')" on

# block NAME: the code block after the line <!-- pg_backup.sh: NAME --> in docs/operations.md
block() {
  awk -v m="<!-- pg_backup.sh: $1 -->" '
    $0 == m { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    want && inside { print }' "$ops"
}
# run NAME VAR=VALUE...: runs that block with bash -euo pipefail as the postgres user, with
# the doc's variables; its output on stdout, its exit status returned
run() {
  local name=$1 text
  shift
  text=$(block "$name")
  [ -n "$text" ] || { bad "docs/operations.md has the block '$name'"; return 99; }
  as_pg env PATH="$work/bin:$PATH" DB="$uri" PUB="$work/w/pub" HEAD="$work/w/head" \
    BACKUP="$pg/base" ARCHIVE="$archive" "$@" bash -euo pipefail -c "$text" 2>&1
}
# append TAG SECONDS: entries from 4 threads; the acknowledged ones ("SEQ PATIENT") in $work/TAG
append() {
  "$load" append "$ci" "$2" 4 "$1" "$work/$1" >/dev/null
  wc -l <"$work/$1"
}
verify() { "$bin" log verify --db "$uri" --key "$work/w/pub" "$@" 2>&1; }
count() { grep -o 'log verified: [0-9]*' <<<"$1" | awk '{print $3}'; }

# --- 1. entries, a base backup, more entries, the head, more entries, the segment archived
n1=$(append a 2)
[ "$n1" -gt 50 ] && ok || bad "entries before the backup ($n1)"
"$load" vkey >"$work/w/pub"
rc=0; out=$(run backup) || rc=$?
eq "base backup (pg_basebackup, pg_verifybackup): exit 0" "$rc" 0
has "... the backup verifies" "$out" "backup successfully verified"
# the segment where the entries after the backup begin: the gap restore loses it
seg=$(sql "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
n2=$(append b 2)
[ "$n2" -gt 50 ] && ok || bad "entries after the backup ($n2)"
rc=0; out=$(run witness-first) || rc=$?
eq "the first head recorded: exit 0" "$rc" 0
eq "... of every entry" "$(count "$out")" "$((n1 + n2))"
rc=0; out=$(run witness) || rc=$?
eq "the timer's check and record: exit 0" "$rc" 0
has "... extends the head" "$out" "extends the recorded head of $((n1 + n2)) entries"
eq "the head file is the postgres user's and readable" "$(head -1 "$work/w/head")" "overblik-pg-head v1"
eq "... and names the log's size then" "$(sed -n 's/^size //p' "$work/w/head")" "$((n1 + n2))"
n3=$(append c 1)
[ "$n3" -gt 10 ] && ok || bad "entries after the head ($n3)"
n=$((n1 + n2 + n3))
rc=0; out=$(run switch) || rc=$?
eq "pg_switch_wal and pg_stat_archiver: exit 0" "$rc" 0
last=$(head -1 <<<"$out")
for _ in $(seq 1 100); do
  [ -f "$archive/$last" ] && break
  sleep 0.2
done
[ -f "$archive/$last" ] && ok || bad "the switched segment $last reaches the archive"
[ -f "$archive/$seg" ] && ok || bad "the segment $seg is archived"
# the server (its disk, its host) is lost
bash "$root/scripts/pg/throwaway.sh" stop "$pg"
mv "$pg/data" "$pg/lost"
echo "# $n entries ($n1 before the backup, $n2 before the head, $n3 after); $((SECONDS - t0)) s"

# restored NAME: the data directory restore NAME ran in is stopped afterwards
stop_restored() { as_pg "$pgbin/pg_ctl" -D "$1" -m fast -w stop >/dev/null; }

# --- 2. the base backup and the whole archive: every entry, and the head is extended
started+=("$pg/full")
rc=0; out=$(run restore NEWDATA="$pg/full") || rc=$?
eq "restore to the end of the archive: --expect-head passes" "$rc" 0
eq "... every entry" "$(count "$out")" "$n"
has "... extending the head" "$out" "extends the recorded head of $((n1 + n2)) entries"
cat "$work/a" "$work/b" "$work/c" | tr ' ' '\t' >"$work/acked.tsv"
eq "every acknowledged entry is at its seq" "$(psql -X -q -t -A "$ci" -c 'CREATE TEMP TABLE acked (seq bigint, patient text)' \
  -c "\\copy acked FROM '$work/acked.tsv'" -c 'SELECT count(*) FROM acked JOIN log_pg_entry USING (seq, patient)')" "$n"
eq "... and nothing else" "$(sql 'SELECT count(*) FROM log_pg_entry')" "$n"
stop_restored "$pg/full"
echo "# full restore checked; $((SECONDS - t0)) s"

# --- 3. the archive with one segment removed: shorter, whole, and caught by the head
cp -a "$archive" "$work/archive-gap"
rm -f "$work/archive-gap/$seg"
started+=("$pg/gap")
rc=0; out=$(run restore NEWDATA="$pg/gap" ARCHIVE="$work/archive-gap") || rc=$?
eq "a segment missing from the archive: --expect-head exit 4" "$rc" 4
has "... rolled back" "$out" "rolled back: the log holds $n1 entries, the recorded head signed $((n1 + n2))"
rc=0; out=$(verify) || rc=$?
eq "... while the log verifies by itself" "$rc" 0
stop_restored "$pg/gap"

# --- 4. the base backup alone: a rollback to the backup; then grown past the head
as_pg cp -a "$pg/base" "$pg/old"
as_pg sh -c "echo 'archive_mode = off' >>'$pg/old/postgresql.auto.conf'"
started+=("$pg/old")
as_pg "$pgbin/pg_ctl" -D "$pg/old" -l "$pg/old.log" -w -t 120 start >/dev/null
rc=0; out=$(verify) || rc=$?
eq "the old backup alone verifies by itself" "$rc" 0
eq "... holding only the entries before the backup" "$(count "$out")" "$n1"
rc=0; out=$(verify --expect-head "$work/w/head") || rc=$?
eq "... and --expect-head: exit 4" "$rc" 4
has "... rolled back, naming what is gone" "$out" \
  "rolled back: the log holds $n1 entries, the recorded head signed $((n1 + n2)) (entries $((n1 + 1))..$((n1 + n2)) are gone)"
# the rolled-back log grows again (the same key: an operator, or one who has it) past the head
for _ in $(seq 1 20); do
  [ "$(sql 'SELECT count(*) FROM log_pg_entry')" -gt $((n1 + n2)) ] && break
  append f 1 >/dev/null
done
rc=0; out=$(verify) || rc=$?
eq "grown past the head's size: verifies by itself" "$rc" 0
[ "$(count "$out")" -gt $((n1 + n2)) ] && ok || bad "the rewritten log is longer than the head ($out)"
rc=0; out=$(verify --expect-head "$work/w/head") || rc=$?
eq "... and --expect-head: exit 4" "$rc" 4
has "... forked" "$out" "forked: entry $((n1 + n2)) is not the one the recorded head signed"

# --- 5. a recorded head that was altered, or is not a head
sed "s/^size .*/size $n1/" "$work/w/head" >"$work/w/head-altered"
rc=0; out=$(verify --expect-head "$work/w/head-altered") || rc=$?
eq "an altered head: exit 4" "$rc" 4
has "... named" "$out" "the recorded head is not one this log's key signed"
echo "not a head" >"$work/w/head-junk"
rc=0; out=$(verify --expect-head "$work/w/head-junk") || rc=$?
eq "a file that is no head: a usage error" "$rc" 2
rc=0; out=$(verify --expect-head "$work/w/none") || rc=$?
eq "a missing head file: a usage error, not a pass" "$rc" 2
rc=0; out=$("$bin" log verify --db "$work/x.db" --expect-head "$work/w/head" 2>&1) || rc=$?
eq "--expect-head on SQLite: a usage error" "$rc" 2
stop_restored "$pg/old"
echo "# pg_backup.sh: $((SECONDS - t0)) s"
the_end
