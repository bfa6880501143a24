#!/usr/bin/env bash
# A witness of the access log on PostgreSQL (issue 18, R-LOG-7; docs/security.md T-LOG-PG-13).
# Two `overblik serve` on one throwaway PostgreSQL (pg_lib.bash): `overblik witness update
# --db postgresql://... --store` reads the log's note and consistency proofs from the database
# and gives its cosignature back; a patient's $prove then carries it and `log check
# --witness-key` accepts it; an entry newer than the witnessed note is proved against the
# head, without it, until the next update. ATTACK: a note of another log signed with the same
# key (a fork, another database) put where the witness reads it: the witness cosigns what it
# cannot tell apart, but the log refuses to keep it (exit 4), so no patient's proof carries
# it (fails without the root check of ob_pglog_add_cosignature). A wiped log is an ALARM.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
. "$(dirname "$0")/../e2e/pg_lib.bash"
PG_GEN_PATIENTS=40 pg_two_servers
load=$(dirname "$bin")/bench_log_pg_load
[ -x "$load" ] || { bad "bench_log_pg_load is not built beside $bin"; the_end; }
pid=pt-0
gp=$(jq -r --arg p "$pid" 'select(.type=="patient" and .id==$p) | .gp' "$nd")
cpr=$(jq -r --arg p "$pid" 'select(.type=="patient" and .id==$p) | .cpr' "$nd")
decide() { # decide N: N logged reads of the patient's data, through the hub on PostgreSQL
  local i
  for i in $(seq 1 "$1"); do
    echo "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"$pid\",\"category\":\"lab_result\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}"
  done | "$bin" decide --db "$uri" --keys "$work/k.key" >/dev/null
}
wit() { # wit STATE [ARGS]: one witness update of the PostgreSQL log
  "$bin" witness update --state "$1" --log-key "$work/k.log-pub" --key "$work/w.key" \
    --db "$uri" "${@:2}"
}
mine() { sql "SELECT seq FROM log_pg_entry WHERE patient = '$pid' ORDER BY seq" | "$@"; }
prove() { # prove SEQ FILE: the patient's own $prove on server b, the proof's JSON into FILE
  local code
  code=$(curl -s -o "$2.fhir" -w '%{http_code}' -H "Authorization: Bearer $cit" \
    "$addr_b/fhir/AuditEvent/$1/\$prove")
  eq "the patient's \$prove of $1" "$code" 200
  jq -r '.parameter[] | select(.name == "proof") | .valueString' "$2.fhir" >"$2"
}
check() { "$bin" log check --proof "$1" --key "$work/k.log-pub" "${@:2}" 2>&1; }

decide 5
"$bin" witness init --key "$work/w.key" --name witness.example/w1 >"$work/w.vkey"
eq "witness init" "$?" 0
out=$(wit "$work/state" --store 2>&1); rc=$?
eq "the witness cosigns the PostgreSQL log and stores it ($out)" "$rc" 0
hasnt "... never printing the URI" "$out" "$work/pg"
size1=$(sed -n 2p "$work/state")
has "... its state is cosigned" "$(cat "$work/state")" "— witness.example/w1 "
eq "... one cosignature kept by the log" "$(sql 'SELECT count(*) FROM log_pg_cosig')" 1
eq "... of the note it read" "$(sql 'SELECT size FROM log_pg_cosig')" "$size1"

# the head moves on (every append rewrites its note); the patient's older entry is proved
# against the witnessed note, with the witness's line; the newest against the head, without
decide 3
old=$(mine head -1)
new=$(mine tail -1)
[ "$old" -le "$size1" ] && [ "$new" -gt "$size1" ] && ok || bad "entries $old <= $size1 < $new"
cit=$("$bin" token --db "$work/k.db" --kind citizen --cpr "$cpr")
prove "$old" "$work/old.json"
eq "... against the witnessed note" "$(jq -r .tree_size "$work/old.json")" "$size1"
has "... which carries the witness's cosignature" "$(jq -r .checkpoint "$work/old.json")" \
  "— witness.example/w1 "
out=$(check "$work/old.json" --witness-key "$(cat "$work/w.vkey")"); rc=$?
eq "log check requiring the witness accepts it ($out)" "$rc" 0
prove "$new" "$work/new.json"
[ "$(jq -r .tree_size "$work/new.json")" -gt "$size1" ] && ok || bad "the newest entry against the head"
out=$(check "$work/new.json"); rc=$?
eq "... which holds with the log's key ($out)" "$rc" 0
out=$(check "$work/new.json" --witness-key "$(cat "$work/w.vkey")"); rc=$?
eq "... but not for a checker requiring the witness, not yet ($out)" "$rc" 4
# the next update: a consistency proof from the database, and the new entry is witnessed
out=$(wit "$work/state" --store 2>&1); rc=$?
eq "the witness follows the log on PostgreSQL ($out)" "$rc" 0
size2=$(sed -n 2p "$work/state")
[ "$size2" -gt "$size1" ] && ok || bad "the witness moved on ($size1 -> $size2)"
prove "$new" "$work/new2.json"
out=$(check "$work/new2.json" --witness-key "$(cat "$work/w.vkey")"); rc=$?
eq "after it, the newest entry's proof is witnessed ($out)" "$rc" 0
out=$("$bin" log verify --db "$uri" --key "$work/k.log-pub" 2>&1); rc=$?
eq "log verify holds the cosigned notes to the entries ($out)" "$rc" 0

# ATTACK (T-LOG-PG-13): another log signed with the same key (a fork: a database restored and
# written on, or a test copy), and its note put where the witness reads this one
sql "CREATE DATABASE fork" >/dev/null
furi="postgresql://postgres@/fork?host=$work/pg&port=$(cat "$work/pg/port")"
OB_PG_LOAD_KEYS="$work/k.key" OB_PG_LOAD_EVERY=64 \
  "$load" append "$furi" 1 1 f "$work/f.ack" >/dev/null 2>"$work/f.err"
fnote=$(psql -X -q -t -A "$furi" -c "SELECT note FROM log_pg_checkpoint ORDER BY size LIMIT 1")
[ -n "$fnote" ] && ok || bad "the fork has a checkpoint note ($(cat "$work/f.err"))"
saved=$(sql "SELECT note FROM log_pg_head")
setnote() { psql -X -q -v "n=$1" "$ci" <<<"UPDATE log_pg_head SET note = :'n'" >/dev/null; }
setnote "$fnote"$'\n'
rows=$(sql 'SELECT count(*) FROM log_pg_cosig')
out=$(wit "$work/state.new" --store 2>&1); rc=$?
eq "a note of another log with the same key: refused by the log (exit 4: $out)" "$rc" 4
has "... saying why" "$out" "not this log's tree"
eq "... and not kept" "$(sql 'SELECT count(*) FROM log_pg_cosig')" "$rows"
setnote "$saved"$'\n'
prove "$old" "$work/old2.json"
hasnt "no patient's proof carries the fork's note" "$(jq -r .checkpoint "$work/old2.json")" \
  "$(sed -n 3p <<<"$fnote")"
out=$(check "$work/old2.json" --witness-key "$(cat "$work/w.vkey")"); rc=$?
eq "... and the witnessed proofs still hold ($out)" "$rc" 0
# (the witness that follows this log saw the foreign note as a fork: no consistency proof)
setnote "$fnote"$'\n'
out=$(wit "$work/state" --store 2>&1); rc=$?
eq "the witness that follows the log: ALARM on the foreign note (exit 4)" "$rc" 4
setnote "$saved"$'\n'

# a wiped log (the tables gone: here, a database without them) is an alarm, not a new start
sql "CREATE DATABASE wiped" >/dev/null
out=$("$bin" witness update --state "$work/state" --log-key "$work/k.log-pub" --key "$work/w.key" \
  --db "postgresql://postgres@/wiped?host=$work/pg&port=$(cat "$work/pg/port")" 2>&1); rc=$?
eq "a wiped PostgreSQL log: ALARM (exit 4: $out)" "$rc" 4
has "... a wipe" "$out" "ALARM wipe"
# an unreachable one is no verdict, and the password is not printed
out=$("$bin" witness update --state "$work/state" --log-key "$work/k.log-pub" --key "$work/w.key" \
  --db "postgresql://w:s3cretpw@127.0.0.1:1/x?connect_timeout=2" --store 2>&1); rc=$?
eq "an unreachable PostgreSQL: a storage error (exit 3: $out)" "$rc" 3
hasnt "... without the password" "$out" "s3cretpw"
the_end
