#!/usr/bin/env bash
# Attack suite for cluster statistics (issue 22; R-STAT-2, R-STAT-3, R-STAT-6, R-STAT-7,
# R-STAT-8; threat rows T-STAT-1..T-STAT-12 in docs/security.md, "Statistics releases").
# Each attack drives `overblik stats cluster|planning|expire` on a hand-shaped cluster in a
# fresh database (tests/security/stats_gen.py) and reads the releases as an attacker who knows
# what every label means and keeps every release; tests/security/stats_attacker.py (GLPK's
# glpsol, a separate MILP solver) computes the exact range of every hidden figure for the
# outsider, each clinic and each pair of clinics. Every check fails on a78fde3.
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
# attack ID NAME FILES...: no attacker may pin a small count (a refused release is no leak)
attack() {
  local id=$1 n=$2
  shift 2
  local files=() f
  for f in "$@"; do [ -s "$work/$f" ] && files+=("$work/$f"); done
  [ ${#files[@]} -gt 0 ] || { ok; return; }
  local out
  out=$(timeout 300 python3 "$here/stats_attacker.py" "$work/$n.spec" "${files[@]}" 2>&1)
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
attack T-STAT-1 a a1.json
the_end
