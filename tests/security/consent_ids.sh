#!/usr/bin/env bash
# ATTACK (issue 24; R-CON-2, R-BLK-5, R-API-5; docs/security.md T-CONC-3): `overblik load`
# with a consent (or block) id that another patient's consent already has. The API finds
# a consent by its id alone (Consent/consent-<id>) and a revocation names the id: two
# patients with consent 7 made one's revocation or read reach the other's. Ids must be
# unique across patients: the load is refused with an error naming the line and the id,
# and nothing of it is kept (all or nothing). Ids within one file and across loads alike.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need sqlite3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
cat >"$work/world.ndjson" <<'J'
{"type":"org","id":"gp-1","kind":"gp_clinic","name":"Lægerne Torvet"}
{"type":"org","id":"gp-2","kind":"gp_clinic","name":"Lægehuset Aaen"}
{"type":"patient","id":"anna","name":"Anna Andersen","cpr":"010190-1234","gp":"gp-1"}
{"type":"patient","id":"bent","name":"Bent Berg","cpr":"020285-2345","gp":"gp-2"}
{"type":"consent","id":7,"patient":"anna","kind":"sharing","recipient":{"org":"gp-2"},"categories":["appointment"],"from":"2026-01-01","to":"2027-01-01","text":"Anna deler med Aaen"}
{"type":"block","id":9,"patient":"anna","kind":"site","target":"gp-2"}
J
"$bin" load --db "$db" "$work/world.ndjson" >/dev/null 2>&1 && ok || bad "the world loads"
count() { sqlite3 "$db" "select count(*) from records where type in ('consent','block')"; }
eq "one consent and one block stored" "$(count)" 2

# the same consent id for another patient, in a later load
cat >"$work/dup.ndjson" <<'J'
{"type":"block","patient":"bent","kind":"site","target":"gp-1"}
{"type":"consent","id":7,"patient":"bent","kind":"sharing","recipient":{"org":"gp-1"},"categories":["appointment"],"from":"2026-01-01","to":"2027-01-01","text":"Bent deler med Torvet"}
J
out=$("$bin" load --db "$db" "$work/dup.ndjson" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a repeated consent id across patients is refused (rc=$rc)"
has "the error names the line" "$out" "line 2"
has "the error names the id" "$out" "consent id 7 is already used"
eq "nothing of the refused load is kept" "$(count)" 2

# the same within one file, and a block id likewise
cat >"$work/dup2.ndjson" <<'J'
{"type":"consent","id":30,"patient":"anna","kind":"sharing","recipient":{"org":"gp-2"},"categories":["appointment"],"from":"2026-01-01","to":"2027-01-01","text":"a"}
{"type":"consent","id":30,"patient":"bent","kind":"sharing","recipient":{"org":"gp-1"},"categories":["appointment"],"from":"2026-01-01","to":"2027-01-01","text":"b"}
J
out=$("$bin" load --db "$db" "$work/dup2.ndjson" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a consent id repeated within one file is refused (rc=$rc)"
has "within one file: the id named" "$out" "consent id 30 is already used"
printf '%s\n' '{"type":"block","id":9,"patient":"bent","kind":"site","target":"gp-1"}' >"$work/dup3.ndjson"
out=$("$bin" load --db "$db" "$work/dup3.ndjson" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a repeated block id across patients is refused (rc=$rc)"
has "block: the id named" "$out" "block id 9 is already used"
eq "still nothing more kept" "$(count)" 2
# the database still opens (replay) and takes a fresh id
printf '%s\n' '{"type":"consent","patient":"bent","kind":"sharing","recipient":{"org":"gp-1"},"categories":["appointment"],"from":"2026-01-01","to":"2027-01-01","text":"Bent deler med Torvet"}' >"$work/ok.ndjson"
"$bin" load --db "$db" "$work/ok.ndjson" >/dev/null 2>&1 && ok || bad "a consent without an id loads"
eq "its id is a fresh one" "$(sqlite3 "$db" "select json_extract(json,'\$.id') from records where type='consent' and json_extract(json,'\$.patient')='bent'")" 8
the_end
