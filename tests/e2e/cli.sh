#!/usr/bin/env bash
# End-to-end test of the overblik CLI (R-API-3) on a real SQLite file: init, gen, load errors,
# decide (one row per rule family), blocks and consents through the rules, the
# patient's log, verify, tampering behind the log's back, proofs, and CPR privacy.
# Cites requirement ids; every check can fail. Prints "N passed, M failed".
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/lib.bash"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/t.db"
check() { # check "description" command...   (expects exit 0)
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi
}

check "init creates a database" "$bin" init --db "$db"
out=$("$bin" init --db "$db" 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "second init must refuse (rc=$rc)"
# a missing key file: make one with init; one that exists but cannot be read: never that
# advice (init would make new keys, and the log and CPR index would be lost to them).
# (log verify needs only the public keys, t.log-pub, since R-LOG-8; rotate-key needs the
# log signing key file, t.log-key, and not the CPR keys, t.cpr-key.)
for f in t.cpr-key t.log-key; do [ -f "$work/$f" ] && ok || bad "init made $f"; done
eq "the key files are 0600" "$(stat -c %a "$work/t.cpr-key" "$work/t.log-key" | sort -u)" 600
[ ! -e "$work/t.key" ] && ok || bad "no single key file any more"
cp "$work/t.log-key" "$work/t.log-key.bak"; rm "$work/t.log-key"
# (on PostgreSQL the log's tables come with the first command that writes: nothing to verify
# yet, and verify there needs only the public key anyway, tests/e2e/pg_log.sh)
on_pg || check "R-LOG-8 verify without the secret key file" "$bin" log verify --db "$db"
out=$("$bin" log rotate-key --db "$db" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "no key file: refused"
has "no key file: says to run init" "$out" "no key file $work/t.log-key; run 'overblik init' first"
printf 'not json' >"$work/t.log-key"
out=$("$bin" log rotate-key --db "$db" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "a damaged key file: refused"
has "a damaged key file: says to restore it" "$out" "restore it from the secrets store"
hasnt "a damaged key file: no advice to run init" "$out" "overblik init"
cp "$work/t.log-key.bak" "$work/t.log-key"

out=$("$bin" gen --db "$db" --patients 1500 --seed 7 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "gen --db ($out)"
has "gen reports counts" "$out" "1500 patients"

# determinism: same seed, same bytes
"$bin" gen --out "$work/a.ndjson" --patients 300 --seed 3 && "$bin" gen --out "$work/b.ndjson" --patients 300 --seed 3
cmp -s "$work/a.ndjson" "$work/b.ndjson" && ok || bad "gen is deterministic"
"$bin" gen --out "$work/c.ndjson" --patients 300 --seed 4
cmp -s "$work/a.ndjson" "$work/c.ndjson" && bad "different seeds give different data" || ok

# R-CPR-2: the database holds no CPR in clear text
cpr=$(grep -o '"cpr":"[0-9-]*"' "$work/a.ndjson" | head -1 | cut -d'"' -f4)
"$bin" init --db "$work/c.db" >/dev/null && "$bin" load --db "$work/c.db" "$work/a.ndjson" >/dev/null
digits=${cpr/-/}
if strings "$work/c.db" "$work/c.db-wal" 2>/dev/null | grep -q -e "$cpr" -e "$digits"; then bad "R-CPR-2: CPR in the database file"; else ok; fi

# load: line-numbered errors, nothing half-loaded (R-API-5)
before=$(sqlite3 "$db" 'select count(*) from records')
printf '%s\n' '{"type":"org","id":"x-new","kind":"gp_clinic","name":"Ny klinik","provider_number":"123456"}' \
  '{"type":"patient","id":"x-p","name":"A","cpr":"3102901234"}' > "$work/bad.ndjson"
out=$("$bin" load --db "$db" "$work/bad.ndjson" 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "load of a bad file exits 1 (rc=$rc)"
has "R-API-5 line number" "$out" "line 2"
has "R-CPR-1 clear error" "$out" "birth date does not exist"
hasnt "R-CPR-2 no CPR in the error" "$out" "3102901234"
after=$(sqlite3 "$db" 'select count(*) from records')
[ "$before" = "$after" ] && ok || bad "nothing half-loaded ($before -> $after)"
printf '{"type":"org","id":"y","kind":"gp_clinic","name":"Y","colour":"red"}\n' > "$work/bad2.ndjson"
out=$("$bin" load --db "$db" "$work/bad2.ndjson" 2>&1)
has "unknown field named" "$out" "unknown field 'colour'"
printf '{"type":"org", "id": 0101901234 \n' > "$work/bad3.ndjson"
out=$("$bin" load --db "$db" "$work/bad3.ndjson" 2>&1)
has "malformed JSON is refused" "$out" "not valid JSON"
hasnt "R-CPR-2 JSON errors do not quote the input" "$out" "0101901234"
# R-CPR-2: an error message does not repeat a CPR-like number from the operator's input
# (a typo for a command, a file named after a patient, an option)
for args in "0101901234" "load --db $db $work/0101901234.ndjson" "decide --db $db $work/010190-1234.json" \
            "log show --db $db --patient pt-0 --0101901234"; do
  out=$("$bin" $args 2>&1); rc=$?
  [ $rc -ne 0 ] && ok || bad "refused: overblik $args"
  hasnt "R-CPR-2 no CPR in: overblik $args" "$out" "0101901234"
  hasnt "R-CPR-2 no CPR in: overblik $args" "$out" "010190-1234"
  has "R-CPR-2 says why it is not shown: overblik $args" "$out" "not shown"
done

# decisions (R-ACC), each logged (R-LOG-1)
decide() { "$bin" decide --db "$db" <<<"$1"; }
gp=$(sqlite3 "$db" "select json_extract(json,'\$.gp') from records where type='patient' and json_extract(json,'\$.id')='pt-0'")
r=$(decide "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"TREAT\"}")
has "R-ACC-1 permit" "$r" '"rule":"R-ACC-1"'; has "R-ACC-1 permit" "$r" '"decision":"permit"'
r=$(decide '{"actor":{"professional":"hosp-1-orto-dr0"},"patient":"pt-0","category":"lab_result","origin":"hosp-0-med","purpose":"TREAT"}')
has "R-ACC-1 deny without relationship" "$r" '"decision":"deny"'
r=$(decide "{\"actor\":{\"professional\":\"$gp-sec\",\"on_behalf_of\":\"$gp-dr0\"},\"patient\":\"pt-0\",\"category\":\"medication\",\"origin\":\"$gp\",\"purpose\":\"TREATMENT\"}")
has "R-ACC-3 assistant permit, OIO alias" "$r" '"rule":"R-ACC-3"'; has "R-ACC-3 both logged" "$r" 'log_assistant'
r=$(decide '{"actor":{"professional":"planner-1"},"patient":"pt-0","category":"diagnosis","origin":"hosp-0-med","purpose":"HOPERAT"}')
has "R-ACC-7 planning deny" "$r" '"rule":"R-ACC-7"'
r=$(decide '{"actor":{"citizen":"pt-0"},"patient":"pt-0","category":"diagnosis","origin":"hosp-0-med","purpose":"PATRQT"}')
has "R-ACC-9 own data" "$r" '"rule":"R-ACC-9"'
r=$(decide "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient_cpr\":\"$cpr\",\"category\":\"diagnosis\",\"origin\":\"$gp\",\"purpose\":\"TREAT\"}")
hasnt "R-CPR-2 decide never echoes the CPR" "$r" "$digits"
r=$(decide '{"actor":{"professional":"nobody"},"patient":"pt-0","category":"diagnosis","origin":"gp-0","purpose":"TREAT"}'); rc=$?
has "unknown actor is an error" "$r" '"error"'
r=$(decide '{"actor":{"professional":"gp-0-dr0"},"patient":"pt-0","category":"gossip","origin":"gp-0","purpose":"TREAT"}')
has "unknown category is an error" "$r" '"error"'

# blocks: R-BLK-2 refused with a helpful message, R-BLK-3 own GP, R-BLK-4 withheld, R-BLK-5
out=$("$bin" block create --db "$db" --patient pt-0 --kind professional --target hosp-0-med-dr0 2>&1); rc=$?
[ $rc -eq 5 ] && ok || bad "R-BLK-2 refusal exits 5 (rc=$rc)"
has "R-BLK-2 suggests a site block" "$out" "block the site instead"
out=$("$bin" block create --db "$db" --patient pt-0 --kind site --target hosp-0 --by hosp-0-med-dr0 2>&1); rc=$?
[ $rc -eq 5 ] && ok || bad "R-BLK-3 a hospital doctor cannot block for the patient (rc=$rc)"
out=$("$bin" block create --db "$db" --patient pt-0 --kind site --target hosp-0 --by "$gp-dr1" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "R-BLK-3 own GP blocks on the patient's behalf ($out)"
list=$("$bin" block list --db "$db" --patient pt-0)
has "R-BLK-3 shown to the patient as set by the GP" "$list" "set by your GP"
bid=$(grep -o 'block created [0-9]*' <<<"$out" | awk '{print $3}')
r=$(decide "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"TREAT\"}")
has "R-BLK-4 takes effect at once and withholds" "$r" '"rule":"R-BLK-4"'; has "R-BLK-4 hint" "$r" 'block_hint'
r=$(decide "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"ETREAT\",\"override\":\"vital_interest\",\"reason\":\"unconscious, suspected sepsis\"}")
has "R-BLK-4 vital-interest override" "$r" '"decision":"permit"'; has "R-BLK-4 notify" "$r" 'notify_patient'
out=$("$bin" block lift --db "$db" --patient pt-0 --id "$bid" --by "$gp-dr0" 2>&1); rc=$?
[ $rc -eq 5 ] && ok || bad "R-BLK-5 another doctor cannot lift (rc=$rc)"
check "R-BLK-5 the patient lifts" "$bin" block lift --db "$db" --patient pt-0 --id "$bid"
r=$(decide "{\"actor\":{\"professional\":\"$gp-dr0\"},\"patient\":\"pt-0\",\"category\":\"lab_result\",\"origin\":\"hosp-0-med\",\"purpose\":\"TREAT\"}")
has "lifted block is gone at once" "$r" '"rule":"R-ACC-1"'
list=$("$bin" block list --db "$db" --patient pt-0)
has "R-BLK-5 the lifted block stays in the list (history, issue 24)" "$list" "lifted"

# consents (R-CON-1, R-CON-2, R-ACC-5)
r=$(decide '{"actor":{"professional":"mun-0-hjemme-nurse0"},"patient":"pt-0","category":"measurement","origin":"hosp-0-med","purpose":"PREVENTION"}')
has "R-ACC-5 deny without consent" "$r" '"decision":"deny"'
out=$("$bin" consent create --db "$db" --patient pt-0 --kind prevention --recipient-org mun-0 --categories measurement --from 2026-01-01 --to 2027-12-31 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "R-CON-1 consent without text refused (rc=$rc)"
out=$("$bin" consent create --db "$db" --patient pt-0 --kind prevention --recipient-org mun-0 --categories measurement --from 2026-01-01 --to 2027-12-31 --text "Kommunen må se mine målinger" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "R-CON-1 consent created ($out)"
cid=$(grep -o 'consent created [0-9]*' <<<"$out" | awk '{print $3}')
r=$(decide '{"actor":{"professional":"mun-0-hjemme-nurse0"},"patient":"pt-0","category":"measurement","origin":"hosp-0-med","purpose":"PREVENTION"}')
has "R-ACC-5 permit with consent" "$r" '"rule":"R-ACC-5"'; has "R-ACC-5 permit with consent" "$r" '"decision":"permit"'
# a date as the end covers that whole day (docs/formats.md; FHIR R4 Period.end)
r=$(decide '{"actor":{"professional":"mun-0-hjemme-nurse0"},"patient":"pt-0","category":"measurement","origin":"hosp-0-med","purpose":"PREVENTION","at":"2027-12-31T15:00:00Z"}')
has "R-CON-1 a consent to 2027-12-31 holds that afternoon" "$r" '"decision":"permit"'
r=$(decide '{"actor":{"professional":"mun-0-hjemme-nurse0"},"patient":"pt-0","category":"measurement","origin":"hosp-0-med","purpose":"PREVENTION","at":"2028-01-01T00:00:00Z"}')
has "R-CON-1 and has ended when the next day begins" "$r" '"decision":"deny"'
check "R-CON-2 revoke" "$bin" consent revoke --db "$db" --patient pt-0 --id "$cid"
r=$(decide '{"actor":{"professional":"mun-0-hjemme-nurse0"},"patient":"pt-0","category":"measurement","origin":"hosp-0-med","purpose":"PREVENTION"}')
has "R-CON-2 revocation effective at once" "$r" '"decision":"deny"'
list=$("$bin" consent list --db "$db" --patient pt-0)
has "R-CON-2 history kept" "$list" "revoked"

# the patient's log (R-LOG-3) shows decisions, overrides and changes
log=$("$bin" log show --db "$db" --patient pt-0)
has "R-LOG-3 decisions in the patient's log" "$log" "R-ACC-1"
has "R-LOG-3 override shown prominently" "$log" "block overridden"
has "R-LOG-3 block creation logged" "$log" "block_create"
has "R-LOG-6 assistants" "$("$bin" log assistants --db "$db" --professional "$gp-dr0")" "R-ACC-3"
hasnt "R-CPR-2 no CPR in the log view" "$log" "$digits"
# names in the log view are cut by characters, never inside one: "æ" is two bytes, and a
# cut after byte 22 of this name would fall inside it (and leave text that is not UTF-8)
printf '{"type":"professional","id":"dk-long","name":"Søren Østergård-Bjærgaard","role":"doctor","authorisation_id":"9Z9Z9","sites":["%s"]}\n' \
  "$gp" >"$work/long.ndjson"
"$bin" load --db "$db" "$work/long.ndjson" >/dev/null && ok || bad "load a professional with a long Danish name"
decide '{"actor":{"professional":"dk-long"},"patient":"pt-0","category":"diagnosis","origin":"hosp-0-med","purpose":"TREAT"}' >/dev/null
log=$("$bin" log show --db "$db" --patient pt-0)
iconv -f UTF-8 -t UTF-8 <<<"$log" >/dev/null 2>&1 && ok || bad "R-LOG-3 the log view is UTF-8"
has "R-LOG-3 a long name cut at 22 characters, the role after it" "$log" "Søren Østergård-Bjærga doctor"

# verify, prove, tamper (R-LOG-4)
check "R-LOG-4 verify passes" "$bin" log verify --db "$db"
"$bin" log prove --db "$db" --seq 5 --checkpoint-now > "$work/proof.json" && ok || bad "prove"
check "R-LOG-4 proof checks offline" "$bin" log check --db "$db" --proof "$work/proof.json"
sed -i 's/"permit": true/"permit": false/' "$work/proof.json"
"$bin" log check --db "$db" --proof "$work/proof.json" >/dev/null 2>&1; rc=$?
[ $rc -eq 4 ] && ok || bad "an edited proof fails (rc=$rc)"
# an entry edited in the database file, and retention by whole signed segments: SQLite's
# log (PostgreSQL's: tests/e2e/pg_log.sh, tests/store/test_log_pg.c)
if ! on_pg; then
cp "$db" "$work/x.db"; cp "$work/t.log-pub" "$work/x.log-pub"; [ -f "$db-wal" ] && cp "$db-wal" "$work/x.db-wal"
seqcol=$(sqlite3 "$work/x.db" "select name from pragma_table_info('log_entries') where pk=1")
sqlite3 "$work/x.db" "select sql from sqlite_master where name='log_entries'" >/dev/null
sqlite3 "$work/x.db" "update log_entries set reason='nothing to see' where $seqcol=10" 2>/dev/null || \
  sqlite3 "$work/x.db" "update log_entries set actor_id='someone-else' where $seqcol=10"
out=$("$bin" log verify --db "$work/x.db" 2>&1); rc=$?
[ $rc -eq 4 ] && ok || bad "R-LOG-4 verify detects an edited entry (rc=$rc, $out)"
has "R-LOG-4 names the first bad entry" "$out" "entry 10"

# retention (R-LOG-5): a period in days, or a date; whole signed segments go, the rest verifies
out=$("$bin" log expire --db "$db" --keep-days 0 2>&1); rc=$?
eq "R-LOG-5 --keep-days 0 refused: exit 2" "$rc" 2
has "R-LOG-5 --keep-days 0 refused: says the range" "$out" "--keep-days must be a number from 1 to 36500"
out=$("$bin" log expire --db "$db" --keep-days 30 --before 2020-01-01 2>&1); rc=$?
eq "R-LOG-5 --keep-days with --before refused: exit 2" "$rc" 2
out=$("$bin" log expire --db "$db" --keep-days 1 2>&1); rc=$?
eq "R-LOG-5 entries from today are kept" "$out" "expired 0 entries"
out=$("$bin" log expire --db "$db" --before "$(date -u -d tomorrow +%F)" 2>&1); rc=$?
n=$(grep -o 'expired [0-9]*' <<<"$out" | awk '{print $2}')
[ $rc -eq 0 ] && [ "${n:-0}" -gt 0 ] && ok || bad "R-LOG-5 --before tomorrow expires the sealed segments ($out)"
out=$("$bin" log verify --db "$db" 2>&1); rc=$?
eq "R-LOG-5 the rest still verifies" "$rc" 0
has "R-LOG-5 verify reports the expiry" "$out" "expired by retention"
fi

# `cpr check` (issue 20 section 3, R-CPR-1, R-CPR-2): numbers on standard input only, one
# a line; the answer names the line and never holds the number.
out=$(printf '010190-1234\n3102901234\nnot a number\n\n0101204234\n' | "$bin" cpr check 2>&1); rc=$?
eq "R-CPR-1 cpr check: one invalid line -> exit 1" "$rc" 1
eq "R-CPR-1 cpr check: a valid number's birth date, century and sex" \
  "$(sed -n 1p <<<"$out")" '{"line":1,"valid":true,"birth_date":"1990-01-01","century":1900,"sex":"female"}'
has "R-CPR-1 cpr check: 31 February does not exist" "$(sed -n 2p <<<"$out")" '"line":2,"valid":false'
has "R-CPR-1 cpr check: not ten digits" "$(sed -n 3p <<<"$out")" '"line":3,"valid":false'
has "R-CPR-1 cpr check: the century from the 7th digit (2020)" "$(sed -n 4p <<<"$out")" '"line":5,"valid":true,"birth_date":"2020-01-01","century":2000'
for n in 010190-1234 0101901234 3102901234 0101204234; do
  case "$out" in *"$n"*) bad "R-CPR-2 cpr check echoed a number";; *) ok;; esac
done
out=$(printf '010190-1234\n' | "$bin" cpr check); rc=$?
eq "R-CPR-1 cpr check: all valid -> exit 0" "$rc" 0
out=$("$bin" cpr check 010190-1234 2>&1); rc=$?
eq "R-CPR-2 cpr check refuses a number as an argument: exit 2" "$rc" 2
case "$out" in *0101901234*|*010190-1234*) bad "R-CPR-2 the refusal echoed the number";; *) ok;; esac
out=$("$bin" cpr check </dev/null 2>&1); rc=$?
eq "cpr check: no input is bad input" "$rc" 1

# `token --patient` (issue 25): a citizen by internal id, no CPR in the token; unknown ids refused
tok=$("$bin" token --db "$db" --kind citizen --patient pt-0); rc=$?
eq "token --patient pt-0: exit 0" "$rc" 0
payload=$(cut -d. -f2 <<<"$tok" | tr '_-' '/+' | base64 -d 2>/dev/null)
has "token --patient: the patient claim" "$payload" '"patient":"pt-0"'
hasnt "token --patient: no cpr claim" "$payload" '"cpr"'
out=$("$bin" token --db "$db" --kind citizen --patient pt-nobody 2>&1); rc=$?
eq "token --patient: an unknown id is refused" "$rc" 1

# a newcomer's first commands (issue 25): --version, OVERBLIK_DB, where the database was sought
has "overblik --version" "$("$bin" --version)" "overblik 0."
out=$("$bin" init --db "$work/no/such/dir/t.db" 2>&1); rc=$?
eq "init into a missing directory: storage error" "$rc" 3
has "init into a missing directory: says so and what to do" "$out" "does not exist; create it first (mkdir -p $work/no/such/dir)"
eq "OVERBLIK_DB names the database for every command" \
  "$(cd "$work" && OVERBLIK_DB="$db" "$bin" source list | grep -c '"client"')" \
  "$("$bin" source list --db "$db" | grep -c '"client"')"
out=$(cd "$work" && env -u OVERBLIK_DB "$bin" log show --patient pt-0 2>&1); rc=$?
eq "no database: storage error" "$rc" 3
has "no database: says where it looked and how to name another" "$out" \
  "the database looked for was overblik.db (the default; give --db FILE or set OVERBLIK_DB"
out=$(OVERBLIK_DB="$work/nope.db" "$bin" block list --patient pt-0 2>&1); rc=$?
has "no database from OVERBLIK_DB: says so" "$out" "from OVERBLIK_DB"

# `people list` (issue 25): who is in the database, never a CPR number
out=$("$bin" people list --db "$db" --limit 3); rc=$?
eq "people list: exit 0" "$rc" 0
eq "people list: three of each of four kinds" "$(grep -c . <<<"$out")" 12
has "people list: a patient with their GP" "$out" '{"kind":"patient","id":"pt-0","name":'
if grep -qE '[0-9]{6}-?[0-9]{4}' <<<"$out"; then bad "people list shows no CPR number"; else ok; fi
out=$("$bin" people list --db "$db" --kind professional --limit 1)
has "people list --kind professional" "$out" '"kind":"professional"'

# `source` (issue 20, R-SRC-2): an operator declares a source interrupted and resumes it
out=$("$bin" source list --db "$db"); rc=$?
eq "R-SRC-2 source list: exit 0" "$rc" 0
has "R-SRC-2 source list: every generated source, active" "$(grep '"client":"gpsys-0"' <<<"$out")" '"state":"active"'
out=$("$bin" source interrupt --db "$db" --client gpsys-0 --reason "XMO leverer ikke" --since 2026-12-01T08:00:00Z 2>&1); rc=$?
eq "R-SRC-2 source interrupt: exit 0" "$rc" 0
has "R-SRC-2 source list: the interruption, since when and why" \
  "$("$bin" source list --db "$db" | grep '"client":"gpsys-0"')" '"state":"interrupted","last_delivery":null,"since":"2026-12-01T08:00:00Z","declared":true,"reason":"XMO leverer ikke"'
out=$("$bin" source interrupt --db "$db" --client gpsys-0 2>&1); rc=$?
eq "R-SRC-2 source interrupt without a reason: usage, exit 2" "$rc" 2
out=$("$bin" source interrupt --db "$db" --client gpsys-0 --reason "ring 010190-1234" 2>&1); rc=$?
eq "R-CPR-3 source interrupt: a CPR number in the reason is refused" "$rc" 1
case "$out" in *0101901234*|*010190-1234*) bad "R-CPR-2 the refusal echoed the number";; *) ok;; esac
out=$("$bin" source interrupt --db "$db" --client no-such --reason x 2>&1); rc=$?
eq "R-SRC-2 source interrupt: an unknown client is bad input" "$rc" 1
"$bin" source resume --db "$db" --client gpsys-0 >/dev/null
has "R-SRC-2 source resume: active again" "$("$bin" source list --db "$db" | grep '"client":"gpsys-0"')" '"state":"active"'

the_end
