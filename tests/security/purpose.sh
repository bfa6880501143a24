#!/usr/bin/env bash
# Attack: choose a purpose of use to widen what one sees (docs/security.md T-PUR-1..4;
# R-ACC-11, R-ACC-15, R-ACC-16, R-LOG-1, R-LOG-2). On a real `overblik serve` over 400
# generated patients, every purpose code x every kind of caller asks for a stranger's
# appointments (and the Patient, by _include): with the token's default purposes, with a
# token that allows exactly that purpose, and (professionals) with one that allows every
# purpose a professional can have. Nothing of the stranger may come back, and no permit
# may be logged on the stranger. At 6e667cd, X-Purpose-Of-Use: DECISIONSUPPORT gave any
# professional any patient's appointments and name, through blocks.
# Prints "N passed, M failed"; exits non-zero on any failure.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
. "$(dirname "$0")/../e2e/lib.bash"
need curl jq sqlite3
work=$(mktemp -d)
srv=""
cleanup() { [ -n "${KEEP:-}" ] && cp "$db" /tmp/purpose.db; [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/t.db"
"$bin" init --db "$db" >/dev/null || { echo "init failed"; exit 1; }
"$bin" gen --db "$db" --patients 400 --seed 7 >/dev/null 2>&1 || { echo "gen failed"; exit 1; }
"$bin" gen --out "$work/d.ndjson" --patients 400 --seed 7 >/dev/null 2>&1
cpr=$(grep -m1 '"id":"pt-0"' "$work/d.ndjson" | grep -o '"cpr":"[0-9-]*"' | cut -d'"' -f4)

# the attacker: a GP of pt-0's clinic; the victim: a patient with shared appointments and
# no relationship with that clinic, who has also blocked it (the issue's pt-1)
gp=$(sqlite3 "$db" "select json_extract(json,'\$.org') from records where type='relationship'
  and json_extract(json,'\$.patient')='pt-0' and json_extract(json,'\$.kind')='listed' limit 1")
pro=$(sqlite3 "$db" "select json_extract(r.json,'\$.id') from records r, json_each(json_extract(r.json,'\$.sites')) s
  where r.type='professional' and s.value='$gp' and json_extract(r.json,'\$.role')='doctor' limit 1")
victim=$(sqlite3 "$db" "select patient from appointments where shared=1 and patient not in
  (select json_extract(json,'\$.patient') from records where type='relationship'
   and json_extract(json,'\$.org')='$gp') and patient != 'pt-0' order by patient limit 1")
sys_site=$(sqlite3 "$db" "select json_extract(json,'\$.site') from records where type='source'
  and json_extract(json,'\$.site') != '$gp' limit 1")
sys_client=$(sqlite3 "$db" "select json_extract(json,'\$.client_id') from records where type='source'
  and json_extract(json,'\$.site') = '$sys_site' limit 1")
[ -n "$gp" ] && [ -n "$pro" ] && [ -n "$victim" ] && [ -n "$cpr" ] && [ -n "$sys_client" ] && ok ||
  { bad "found an attacker, a victim and a source system in the generated world"; exit 1; }
"$bin" block create --db "$db" --patient "$victim" --kind site --target "$gp" >/dev/null 2>&1 ||
  { bad "the victim blocks the attacker's clinic"; exit 1; }

serve_bg srv addr "$work/out.txt" "$work/err.txt" --db "$db" --listen 127.0.0.1:0 --threads 2
[ -n "$addr" ] || { bad "server started"; cat "$work/err.txt"; exit 1; }

tok() { "$bin" token --db "$db" --ttl 600 "$@"; }
purposes=(TREAT ETREAT HQUALIMP PREVENTION SHARING HRESCH HOPERAT DECISIONSUPPORT PATRQT PWATRNY
  RESEARCHNOTICE DISCLOSE)
start=$(log_max "$db")
permits_since_start() {
  log_of "$db" "$start" --patient "$victim" |
    jq -s --arg v "$victim" 'map(select(.decision == "permit" and .actor != $v)) | length'
}
# ask TOKEN PURPOSE: code and body of the attack search
ask() {
  local out
  out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $1" -H "X-Purpose-Of-Use: $2" \
    "$addr/fhir/Appointment?patient=Patient/$victim&_include=Appointment:patient")
  code=${out##*$'\n'}
  body=${out%$'\n'*}
}
# judge LABEL ALLOWED(0/1): a purpose outside the token is a 403 (T-PUR-2); inside, the
# search answers but shows nothing of the victim (T-PUR-1)
judge() {
  local label=$1 allowed=$2 total
  if [ "$allowed" = 1 ]; then
    total=$(jq -r '.total // "none"' <<<"$body" 2>/dev/null)
    if [ "$code" = 200 ] && [ "$total" = 0 ]; then ok; else bad "$label: nothing of the victim ($code total=$total)"; fi
    hasnt "$label: no name of the victim" "$body" '"name"'
  else
    eq "$label: a purpose the token does not allow is refused" "$code" 403
  fi
}

pro_all="TREAT,ETREAT,HQUALIMP,PREVENTION,SHARING,HRESCH,HOPERAT,DECISIONSUPPORT,RESEARCHNOTICE,DISCLOSE"
t_pro=$(tok --kind professional --sub "$pro" --site "$gp")
t_pro_all=$(tok --kind professional --sub "$pro" --site "$gp" --purposes "$pro_all")
t_cit=$(tok --kind citizen --cpr "$cpr")
t_sys=$(tok --kind system --client-id "$sys_client" --site "$sys_site")
for p in "${purposes[@]}"; do
  case $p in TREAT | ETREAT) d=1 ;; *) d=0 ;; esac
  ask "$t_pro" "$p"; judge "professional, default token, $p" $d
  case $p in PATRQT | PWATRNY) a=0 ;; *) a=1 ;; esac
  ask "$t_pro_all" "$p"; judge "professional, token with every professional purpose, $p" $a
  if [ $a = 1 ]; then
    t_one=$(tok --kind professional --sub "$pro" --site "$gp" --purposes "$p")
    ask "$t_one" "$p"; judge "professional, token with exactly $p" 1
  fi
  case $p in PATRQT | PWATRNY) d=1 ;; *) d=0 ;; esac
  ask "$t_cit" "$p"; judge "citizen, default token, $p" $d
  [ "$p" = TREAT ] && d=1 || d=0
  ask "$t_sys" "$p"; judge "source system, default token, $p" $d
done
eq "T-PUR-1: no permit was logged on the victim" "$(permits_since_start)" 0

# T-PUR-2: the refusals are logged, with the capacity the caller really had (T-PUR-4, R-LOG-2)
# (refused before any patient is looked at: found by who asked, the attacker's three tokens)
refused=$(for a in "$pro" pt-0 "$sys_client"; do log_of "$db" "$start" --actor "$a"; done |
  jq -c 'select(.rule == "R-ACC-15")')
n=$(jq -s 'map(select(.decision == "deny")) | length' <<<"$refused")
[ "$n" -ge 20 ] && ok || bad "T-PUR-2: every refused purpose is logged ($n)"
caps=$(jq -r .capacity <<<"$refused" | sort -u | tr '\n' ' ')
eq "T-PUR-4: refused purposes are logged as professional, citizen and source system" "$caps" "citizen professional source_system "

# T-PUR-3: a token cannot claim a purpose its kind never has, nor an unknown one
for bad_claim in "citizen PATRQT,TREAT" "professional TREAT,PATRQT" "system TREAT,HQUALIMP" \
  "professional TREAT,MARKETING"; do
  set -- $bad_claim
  case $1 in
    citizen) t=$(tok --kind citizen --cpr "$cpr" --purposes "$2") ;;
    professional) t=$(tok --kind professional --sub "$pro" --site "$gp" --purposes "$2") ;;
    system) t=$(tok --kind system --client-id "$sys_client" --site "$sys_site" --purposes "$2") ;;
  esac
  ask "$t" TREAT
  eq "T-PUR-3: a $1 token claiming $2 is refused" "$code" 401
done

# R-ACC-11: decision support never returns a record, even of a patient one treats: of the
# clinic's listed patients, one whose appointments the doctor sees for treatment
t_dss=$(tok --kind professional --sub "$pro" --site "$gp" --purposes "TREAT,DECISIONSUPPORT")
treated=""
for p in $(sqlite3 "$db" "select distinct patient from appointments where shared=1 and patient in
  (select json_extract(json,'\$.patient') from records where type='relationship'
   and json_extract(json,'\$.org')='$gp' and json_extract(json,'\$.kind')='listed') limit 20"); do
  out=$(curl -s -H "Authorization: Bearer $t_dss" -H "X-Purpose-Of-Use: TREAT" \
    "$addr/fhir/Appointment?patient=Patient/$p")
  [ "$(jq -r .total <<<"$out")" -gt 0 ] && { treated=$p; break; }
done
[ -n "$treated" ] && ok || bad "the doctor sees some listed patient's appointments for treatment"
out=$(curl -s -H "Authorization: Bearer $t_dss" -H "X-Purpose-Of-Use: DECISIONSUPPORT" \
  "$addr/fhir/Appointment?patient=Patient/$treated")
eq "R-ACC-11: a person-level search with purpose decision support finds nothing, even for one's own patient" \
  "$(jq -r .total <<<"$out")" 0

the_end
