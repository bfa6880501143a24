#!/usr/bin/env bash
# Key rotation and migration of the access log's formats (R-LOG-4, R-LOG-8; threat row
# T-LOG-FMT-5 in docs/security.md): after `log rotate-key` old checkpoints and proofs still
# verify with the published key file, which lists old and new keys, while a key file with
# the old key alone does not cover the new checkpoints; a log written before checkpoints
# were signed notes (schema 2) gets notes for its old checkpoints when opened, and verifies.
# At a78fde3 there was no rotate-key and no public key file.
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need sqlite3 jq
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 30 --seed 9 >/dev/null || { echo "gen failed"; exit 1; }
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
decide() {
  local i
  for i in $(seq 1 "$2"); do
    echo "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-$((i % 10))\",\"category\":\"lab_result\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}"
  done | "$bin" decide --db "$1" >/dev/null
}
decide "$db" 10
"$bin" log prove --db "$db" --seq 2 --checkpoint-now >"$work/p1.json"; eq "prove before rotation" "$?" 0
cp "$work/t.log-pub" "$work/old.pub"
out=$("$bin" log rotate-key --db "$db" 2>&1); rc=$?
eq "rotate-key ($out)" "$rc" 0
eq "the key file lists two keys" "$(grep -c + "$work/t.log-pub")" 2
decide "$db" 10
last=$(sqlite3 "$db" "select max(seq) from log_entries")
"$bin" log prove --db "$db" --seq "$last" --checkpoint-now >"$work/p2.json"; eq "prove after rotation" "$?" 0
mkdir "$work/away" && mv "$work/t.cpr-key" "$work/t.log-key" "$work/away/" # public keys only from here
out=$("$bin" log verify --db "$db" --key "$work/t.log-pub" 2>&1); rc=$?
eq "R-LOG-8 verify across the rotation ($out)" "$rc" 0
for p in p1 p2; do
  out=$("$bin" log check --proof "$work/$p.json" --key "$work/t.log-pub" 2>&1); rc=$?
  eq "R-LOG-8 $p checks with the published keys ($out)" "$rc" 0
done
out=$("$bin" log check --proof "$work/p2.json" --key "$work/old.pub" 2>&1); rc=$?
[ "$rc" -ne 0 ] && ok || bad "a new proof does not check with the old key alone"
out=$("$bin" log verify --db "$db" --key "$work/old.pub" 2>&1); rc=$?
eq "verify with the old key alone fails on the new checkpoints" "$rc" 4
mv "$work/away/"* "$work/"

# migration: make the log look like schema 2 (no notes, frontiers, nodes or key list)
m="$work/m.db"; "$bin" init --db "$m" >/dev/null; "$bin" gen --db "$m" --patients 30 --seed 9 >/dev/null
decide "$m" 5; "$bin" log prove --db "$m" --seq 1 --checkpoint-now >/dev/null
sqlite3 "$m" "alter table log_checkpoints drop column note; alter table log_checkpoints drop column frontier;
  drop table log_nodes; drop table log_keys; drop table log_cosigs; delete from log_meta where key='origin';
  update log_meta set value='2' where key='schema_version'" || bad "could not make a schema-2 log"
decide "$m" 3 # the writer opens it, migrates, and signs notes with today's key
"$bin" log keys --db "$m" >/dev/null
out=$("$bin" log verify --db "$m" --key "$work/m.log-pub" 2>&1); rc=$?
eq "R-LOG-4 a migrated log verifies ($out)" "$rc" 0
has "notes were made for the old checkpoints" "$out" "notes)"
n=$(sqlite3 "$m" "select count(*) from log_checkpoints where note is null")
eq "every checkpoint has a note" "$n" 0
the_end
