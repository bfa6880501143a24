#!/usr/bin/env bash
# Attack suite for cluster statistics (issue 22; R-STAT-2, R-STAT-3, R-STAT-6, R-STAT-7,
# R-STAT-8; threat rows T-STAT-1..T-STAT-12 in docs/security.md, "Statistics releases").
# Each attack drives `overblik stats cluster|planning|expire` on a hand-shaped cluster in a
# fresh database (tests/security/stats_gen.py) and reads the releases as an attacker who knows
# what every label means and keeps every release; tests/security/stats_attacker.py (GLPK's
# glpsol, a separate MILP solver) computes the exact range of every hidden figure for the
# outsider, each clinic and each pair of clinics. Every check fails on a78fde3.
# backends: sqlite postgresql
set -uo pipefail
bin=${OB_BIN:?OB_BIN must point at the overblik binary}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.bash"
need jq python3 glpsol sqlite3 xmllint rsvg-convert
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OB_TEST_CLOCK=1 # tests may move the clock back (never forward, never in production)
P=(--from 2025-11-01 --to 2026-11-01 --report-date 2026-11-01)

# fresh NAME SPEC: a database NAME.db holding the cluster "kl" of the spec (stats_gen.py)
fresh() {
  printf '%s' "$2" >"$work/$1.spec"
  python3 "$here/stats_gen.py" <"$work/$1.spec" >"$work/$1.ndjson" || return 1
  "$bin" init --db "$work/$1.db" >/dev/null && "$bin" load --db "$work/$1.db" "$work/$1.ndjson" >/dev/null
}
# rel NAME OUT ARGS...: a JSON release of cluster kl into OUT (status of the command)
rel() {
  local n=$1 o=$2
  shift 2
  "$bin" stats cluster --db "$work/$n.db" --cluster kl --format json "$@" >"$work/$o" 2>"$work/$o.err"
}
# attack ID NAME [--attackers KIND] FILES...: no attacker may pin a small count (a refused
# release is no leak)
attack() {
  local id=$1 n=$2 who=()
  shift 2
  if [ "${1:-}" = --attackers ]; then who=(--attackers "$2"); shift 2; fi
  local files=() f
  for f in "$@"; do [ -s "$work/$f" ] && files+=("$work/$f"); done
  [ ${#files[@]} -gt 0 ] || { ok; return; }
  local out
  out=$(timeout 300 python3 "$here/stats_attacker.py" "$work/$n.spec" "${files[@]}" "${who[@]}" 2>&1)
  case $? in
    0) ok ;;
    1) bad "$id: $(grep LEAK <<<"$out" | head -3 | tr '\n' ';')" ;;
    *) bad "$id: attacker failed: ${out:0:300}" ;;
  esac
}

# T-STAT-1 labels are constraints: `<5` is 1..4, `x` next to released zeros is 0 or >= 5;
# the outsider reads them together with the margins (4 clinics, one small band each).
A='{"clinics": {"gp-a": {"listed": 28, "pat": ["138c", "152c", "142c", "152", "120c", "135c", "165c", "125", "165", "165c", "-", "120c", "145", "152c", "138c", "152", "142c", "155c", "165c", "165c", "142", "120", "170"]}, "gp-b": {"listed": 17, "pat": ["-c", "120c", "155c", "-", "-c", "-c", "125c", "152", "165c", "120c", "-", "120c", "120c", "138", "135"]}, "gp-c": {"listed": 22, "pat": ["142c", "135c", "125c", "125", "-c", "152c", "-c", "125", "152", "120c", "135c", "155c", "152c", "155c", "120c", "152", "-", "170", "135", "138"]}, "gp-d": {"listed": 20, "pat": ["135", "155", "152c", "145c", "165", "145", "125", "152c", "-c", "-", "155c", "125c", "152c", "142c", "120c", "138", "152", "155c"]}}}'
fresh a "$A" || bad "load a"
rel a a1.json --code T90 "${P[@]}"
attack T-STAT-1 a --attackers outsider a1.json

# T-STAT-2 a member clinic knows its own row and reads the others' labels with the margins
B='{"clinics": {"gp-a": {"listed": 15, "pat": ["165", "170c", "-", "138c", "138", "152c", "-", "135", "170c", "145c", "145c", "165", "165c", "120c"]}, "gp-b": {"listed": 30, "pat": ["142c", "125", "120", "135", "152", "-", "142", "125", "165", "138", "142c", "120", "165c", "170", "125", "120c", "170c", "142", "142c", "125", "125c", "-c", "125c", "145", "120", "145c", "155c"]}, "gp-c": {"listed": 25, "pat": ["170", "-", "170c", "155c", "138c", "135c", "142c", "145", "145", "-", "170c", "-", "145", "170", "142c", "170", "165", "165c", "142", "138", "155"]}, "gp-d": {"listed": 37, "pat": ["135c", "152", "155c", "142", "138", "145", "142c", "165c", "-c", "155c", "145c", "138", "142", "155", "125c", "120", "145", "170", "165", "152c", "135", "-", "125", "125", "170c", "155", "165", "152", "145"]}}}'
fresh b "$B" || bad "load b"
rel b b1.json --code T90 "${P[@]}"
attack T-STAT-2 b --attackers clinics b1.json

# T-STAT-3 two clinics together (their rows subtracted from the margins)
C='{"clinics": {"gp-a": {"listed": 32, "pat": ["120c", "138", "138", "145c", "-", "125c", "-", "155", "145", "120", "-c", "165", "125", "125", "142c", "138", "142c", "145", "138", "-c", "142", "120c", "155c", "170"]}, "gp-b": {"listed": 42, "pat": ["125", "165c", "155", "138", "142c", "-c", "125c", "135c", "165", "120c", "142c", "135", "125c", "-c", "155", "152", "125", "135", "-", "142", "142c", "142c"]}, "gp-c": {"listed": 26, "pat": ["170c", "155", "152", "-c", "142", "142", "145c", "-c", "170", "145", "125c", "170c", "-", "152", "170c", "-", "165c", "152c", "120", "155c", "165c", "-c", "155c", "120"]}}}'
fresh c "$C" || bad "load c"
rel c c1.json --code T90 "${P[@]}"
attack T-STAT-3 c --attackers pairs c1.json

# T-STAT-4 the same query twice: the same table, and the two together leak nothing
rel c c2.json --code T90 "${P[@]}"
if [ -s "$work/c1.json" ] && [ -s "$work/c2.json" ]; then
  eq "T-STAT-4 same query, same data, same table" "$(jq -c .rows "$work/c1.json")" "$(jq -c .rows "$work/c2.json")"
fi
attack T-STAT-4 c c1.json c2.json

# T-STAT-5 overlapping band definitions: 130,150 and 140,160 give 140-149 by difference
D='{"clinics": {"gp-a": {"listed": 30, "pat": ["170c", "135", "-c", "138", "120c", "152", "125c", "138", "125c", "145c", "135", "152c", "125", "120", "145", "125", "155", "125c", "-c", "-", "-", "138c", "145c", "120", "-c"]}, "gp-b": {"listed": 20, "pat": ["145c", "120c", "-", "152c", "145c", "125c", "120", "135c", "152", "-c", "142", "135"]}, "gp-c": {"listed": 44, "pat": ["-c", "125", "145c", "142c", "170", "142", "120", "120", "152c", "145c", "152", "125", "170c", "120c", "138c", "120c", "155c", "-c", "142", "138c", "145", "120c", "145c", "125"]}, "gp-d": {"listed": 43, "pat": ["170c", "155c", "155c", "135c", "135", "152c", "-c", "145", "155", "170c", "138", "135", "142c", "120c", "138c", "142", "125", "135", "155", "152c", "120", "155", "135"]}}}'
fresh d "$D" || bad "load d"
rel d d1.json --code T90 --bands 130,150 "${P[@]}"
rel d d2.json --code T90 --bands 140,160 "${P[@]}"
attack T-STAT-5 d d1.json d2.json

# T-STAT-6 a sub-code next to its code (T90.1 within T90, same period)
E='{"clinics": {"gp-a": {"listed": 27, "pat": ["142c", "138:T90.1", "-", "142c", "138", "125:T90.1", "165c", "125", "120c", "-c:T90.1", "155c", "125", "125", "135:T90.1", "135c:T90.1", "165c", "155c", "152c", "152c", "-", "165", "170", "152c", "165"]}, "gp-b": {"listed": 13, "pat": ["120c", "138c", "125:T90.1", "125", "-", "125", "155", "155c:T90.1", "142c:T90.1"]}, "gp-c": {"listed": 23, "pat": ["152c", "170c", "125c", "125", "142c", "142c", "145", "155", "-", "170c", "165c", "170c", "170:T90.1", "138c:T90.1", "165c"]}}}'
fresh e "$E" || bad "load e"
rel e e1.json --code T90 "${P[@]}"
rel e e2.json --code T90.1 "${P[@]}"
attack T-STAT-6 e e1.json e2.json

# T-STAT-7 retention erases the memory: with a one-month retention, last month's release
# (made two months ago; the test clock moves back only) expires, then this month's refresh
# must still not differ from it by 1..4 patients in a released figure. Three patients of
# gp-a were measured in the new month, all in 140-149.
pa='"120c","120c","120c","120c","120c","120","135c","135c","135c","135c","135","135","145c","145c","145c","145c","145","145","155c","155c","155c","155c","155","155","170c","170c","170c","170c","170","170"'
F="{\"clinics\": {\"gp-a\": {\"listed\": 60, \"pat\": [$pa, \"142@2026-10-20\", \"143@2026-10-21\", \"144c@2026-10-22\"]}, \"gp-b\": {\"listed\": 60, \"pat\": [$pa]}, \"gp-c\": {\"listed\": 60, \"pat\": [$pa]}}, \"cluster\": {\"retention\": 1}}"
fresh f "$F" || bad "load f"
two_months_ago=$(date -u -d '-2 months' +%Y-%m-%d)
rel f f1.json --code T90 --from 2025-10-01 --to 2026-10-01 --report-date 2026-10-01 --now "$two_months_ago"
"$bin" stats expire --db "$work/f.db" >/dev/null 2>&1
rel f f2.json --code T90 --from 2025-11-01 --to 2026-11-01 --report-date 2026-11-01
# released cells in both: none may differ by 1..4 (the refresh would show the new patients)
grown() {
  jq -n --slurpfile a "$work/$1" --slurpfile b "$work/$2" '
     [([$a[0].rows[].cells[]] | to_entries[]) as $x | ([$b[0].rows[].cells[]][$x.key]) as $y
      | select(($x.value|type) == "number" and ($y|type) == "number")
      | ($y - $x.value) | select((. > 0 and . < 5) or (. < 0 and . > -5))] | length'
}
if [ -s "$work/f1.json" ] && [ -s "$work/f2.json" ]; then
  eq "T-STAT-7 refresh after retention: no released cell moved by 1..4" "$(grown f1.json f2.json)" 0
else ok; fi
attack T-STAT-7 f f1.json f2.json

# T-STAT-8 clock moves: `--now` far ahead neither runs nor empties the history; after it
# the refresh is still protected
fresh g "$F" || bad "load g"
rel g g1.json --code T90 --from 2025-10-01 --to 2026-10-01 --report-date 2026-10-01
"$bin" stats expire --db "$work/g.db" --now 2099-01-01 >/dev/null 2>&1
"$bin" stats cluster --db "$work/g.db" --cluster kl --code T90 "${P[@]}" --now 2099-01-01 >/dev/null 2>&1
eq "T-STAT-8 no release marked expired by a clock move" \
  "$(dbq "$work/g.db" 'select count(*) from stats_release where expired is not null')" 0
rel g g2.json --code T90 "${P[@]}"
if [ -s "$work/g1.json" ] && [ -s "$work/g2.json" ]; then
  eq "T-STAT-8 refresh after a clock move: no released cell moved by 1..4" "$(grown g1.json g2.json)" 0
else ok; fi

# T-STAT-9 rows link across releases and to known list sizes by exact listed counts: every
# shown listed count is rounded (to 5), in every mode and label kind
for f in a1 b1 c1 d1 e1 f2 g2; do
  [ -s "$work/$f.json" ] || continue
  eq "T-STAT-9 listed counts of $f rounded" \
    "$(jq '[.rows[].listed, .total.listed | select(. % 5 != 0)] | length' "$work/$f.json")" 0
done

# T-STAT-10 a clinic-local release goes to that clinic only, never next to its pseudonym
H='{"clinics": {"gp-a": {"listed": 40, "pat": ["120c","120c","120c","120c","120c","135","135","135","135","135","145c","145c","145c","145c","145c","155","155","155","155","155","170","170","170","170","170","-c","-c","-c","-c","-c"]}, "gp-b": {"listed": 40, "pat": ["120c","120c","120c","120c","120c","135","135","135","135","135","145c","145c","145c","145c","145c","155","155","155","155","155","170","170","170","170","170","-c","-c","-c","-c","-c"]}}, "cluster": {"agreement": "pseudonym"}}'
fresh h "$H" || bad "load h"
out=$("$bin" stats cluster --db "$work/h.db" --cluster kl --code T90 "${P[@]}" --clinic gp-b --as gp-a-dr0 --format json 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "T-STAT-10 another clinic's coordinator got gp-b's own figures"
rel h h0.json --code T90 "${P[@]}"
rel h h1.json --code T90 "${P[@]}" --clinic gp-a --as gp-a-dr0
if [ -s "$work/h1.json" ]; then
  hasnt "T-STAT-10 local release does not name the clinic" "$(cat "$work/h1.json")" "clinic:gp-a"
  for lab in $(jq -r '.rows[].clinic' "$work/h0.json"); do
    hasnt "T-STAT-10 local release does not carry a cluster pseudonym" "$(jq -c .rows "$work/h1.json")" "$lab"
  done
else bad "T-STAT-10 the clinic's own release: $(cat "$work/h1.json.err")"; fi

# T-STAT-11 the DP budget belongs to the patients: a second cluster of the same clinics, or
# the cluster re-loaded with a larger epsilon, spends from the same budget
I='{"clinics": {"gp-a": {"listed": 40, "pat": ["120c","135","145c","155","170","-c","120","135c","145","155c"]}, "gp-b": {"listed": 40, "pat": ["120c","135","145c","155","170","-c","120","135c","145","155c"]}}, "clusters": [{"id": "kl2"}]}'
fresh i "$I" || bad "load i"
"$bin" stats cluster --db "$work/i.db" --cluster kl --code T90 "${P[@]}" --mode dp --epsilon 2 >/dev/null 2>&1 || bad "T-STAT-11 first dp release"
"$bin" stats cluster --db "$work/i.db" --cluster kl2 --code T90 "${P[@]}" --mode dp --epsilon 2 >/dev/null 2>&1
[ $? -eq 5 ] && ok || bad "T-STAT-11 a second cluster of the same clinics got a fresh budget"
printf '%s\n' '{"type":"cluster","id":"kl","members":["gp-a","gp-b"],"coordinators":["gp-a-dr0"],"retention":12,"epsilon":50}' >"$work/i2.ndjson"
"$bin" load --db "$work/i.db" "$work/i2.ndjson" >/dev/null || bad "reload kl"
"$bin" stats cluster --db "$work/i.db" --cluster kl --code T90 "${P[@]}" --mode dp --epsilon 2 >/dev/null 2>&1
[ $? -eq 5 ] && ok || bad "T-STAT-11 re-loading the cluster with a larger epsilon gave a fresh budget"

# T-STAT-12 the chart opens: every SVG parses as XML and renders
for n in a h; do
  "$bin" stats cluster --db "$work/$n.db" --cluster kl --code T90 "${P[@]}" --format svg --out "$work/$n.svg" 2>/dev/null
  xmllint --noout "$work/$n.svg" 2>/dev/null && ok || bad "T-STAT-12 $n.svg is not well-formed XML"
  rsvg-convert -o "$work/$n.png" "$work/$n.svg" 2>/dev/null && [ -s "$work/$n.png" ] && ok || bad "T-STAT-12 $n.svg does not render"
  python3 -c 'import sys, xml.etree.ElementTree as T; T.parse(sys.argv[1])' "$work/$n.svg" 2>/dev/null && ok || bad "T-STAT-12 $n.svg: python xml.etree"
done

# T-STAT-13 planning statistics: municipality level only, never a clinic's row (R-STAT-6)
J='{"clinics": {"gp-a": {"listed": 60, "pat": ['"$pa"']}, "gp-b": {"listed": 60, "pat": ['"$pa"']}, "gp-c": {"listed": 60, "pat": ['"$pa"']}}, "planning": true}'
fresh j "$J" || bad "load j"
"$bin" stats planning --db "$work/j.db" --municipality mun-0 --code T90 "${P[@]}" --format json >"$work/j1.json" 2>"$work/j1.err"
eq "T-STAT-13 planning has one row" "$(jq '.rows | length' "$work/j1.json" 2>/dev/null)" 1
eq "T-STAT-13 planning row is the municipality" "$(jq -r '.rows[0].clinic' "$work/j1.json" 2>/dev/null)" mun-0
[ "$(jq '[.rows[].cells[], .rows[].diagnosed | select(type == "number" and . > 0 and . < 10)] | length' "$work/j1.json" 2>/dev/null)" = 0 ] && ok || bad "T-STAT-13 a planning figure under 10"

# T-STAT-14 k below five is refused by the loader (R-STAT-2, seed 003 "mindst fem")
K='{"clinics": {"gp-a": {"listed": 10}, "gp-b": {"listed": 10}}, "cluster": {"k": 3}}'
printf '%s' "$K" | python3 "$here/stats_gen.py" >"$work/k.ndjson"
"$bin" init --db "$work/k.db" >/dev/null
out=$("$bin" load --db "$work/k.db" "$work/k.ndjson" 2>&1); rc=$?
[ $rc -ne 0 ] && ok || bad "T-STAT-14 a cluster with k=3 was loaded"
has "T-STAT-14 the refusal names k" "$out" "field 'k'"

# T-STAT-15 zeros: the cluster agreement chooses; "suppressed" hides a true zero
Z='{"clinics": {"gp-a": {"listed": 40, "pat": ["120c","120c","120c","120c","120c","120","120","120","120","120","170c","170c","170c","170c","170c","170","170","170","170","170"]}, "gp-b": {"listed": 40, "pat": ["120c","120c","120c","120c","120c","120","120","120","120","120","170c","170c","170c","170c","170c","170","170","170","170","170"]}}, "cluster": {"zeros": "suppressed"}}'
fresh z "$Z" || bad "T-STAT-15 the agreement's zeros setting was refused by the loader"
rel z z1.json --code T90 "${P[@]}"
eq "T-STAT-15 no zero shown" "$(jq '[.rows[].cells[] | select(. == 0)] | length' "$work/z1.json" 2>/dev/null)" 0
attack T-STAT-15 z z1.json

the_end
